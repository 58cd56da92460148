{{ police_records_joined(
    ref('int_bvh_beslagen_as_of'),
    ref('int_bvo_beslagobjecten_as_of'),
    'beslagnummer',
    ['bvh_onderzoeknummer', 'bvo_onderzoek_id', 'police_unit_code', 'seizure_date',
     'registration_date', 'legal_basis', 'object_kind', 'description', 'value_eur'],
) }}
