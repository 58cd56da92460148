{{ bvh_snapshot_as_of(ref('stg_bvh__onderzoeken'), 'ONDERZOEK') }}
