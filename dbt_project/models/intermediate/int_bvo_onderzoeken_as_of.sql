{{ bvo_state_as_of(
    ref('stg_bvo__onderzoeken'),
    'onderzoeknummer',
    ['police_unit_code', 'investigation_kind', 'start_date', 'end_date', 'intervention', 'is_keyplayer'],
) }}
