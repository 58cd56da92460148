{{ police_records_joined(
    ref('int_bvh_executiedossiers_as_of'),
    ref('int_bvo_executiedossiers_as_of'),
    'dossiernummer',
    ['police_unit_code', 'offered_date', 'is_promising', 'closed_date', 'result'],
) }}
