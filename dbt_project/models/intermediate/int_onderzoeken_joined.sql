{{ police_records_joined(
    ref('int_bvh_onderzoeken_as_of'),
    ref('int_bvo_onderzoeken_as_of'),
    'onderzoeknummer',
    ['police_unit_code', 'investigation_kind', 'start_date', 'end_date', 'intervention', 'is_keyplayer'],
) }}
