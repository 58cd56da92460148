{{ bvo_state_as_of(
    ref('stg_bvo__beslagobjecten'),
    'beslagnummer',
    ['bvh_onderzoeknummer', 'bvo_onderzoek_id', 'police_unit_code', 'seizure_date',
     'registration_date', 'legal_basis', 'object_kind', 'description', 'value_eur'],
) }}
