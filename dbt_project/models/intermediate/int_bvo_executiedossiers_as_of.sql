{{ bvo_state_as_of(
    ref('stg_bvo__executiedossiers'),
    'dossiernummer',
    ['police_unit_code', 'offered_date', 'is_promising', 'closed_date', 'result'],
) }}
