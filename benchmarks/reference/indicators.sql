-- The twelve indicators of indicators.md for one peildatum, straight from the landing
-- files: the bare-DuckDB limit that `make bench` compares the nightly job with.
--
-- No ledger, dbt, gate or pseudonyms, and no checks of the files: it trusts that every
-- file in the landing folder is valid (trailers, manifests, fields), as the demo's clean
-- exports are. It reads only what the figures of this one peildatum need: the BVH
-- snapshot in force per entity, the COMPAS snapshots in force per parket, and every BVO
-- event and GPS row (their own times decide whether they are known at the peildatum).
--
-- Variables, set by benchmarks/reference/__init__.py before this script runs:
--   peildatum      DATE     the edition's peildatum
--   landing        VARCHAR  the landing folder
--   seeds          VARCHAR  the project's seeds/ folder (code lists)
--   bvh_onderzoek, bvh_beslag, bvh_executie
--                  VARCHAR  UTF-8 copies of the BVH snapshots in force (DuckDB cannot read
--                           Windows-1252; the runner transcodes them, bytes in, bytes out)
-- The script ends with one query: report_year, indicator_code, realisation,
-- registration_systems, in the published table's types.

-- Everything known at the peildatum happened before the start of the next day in
-- Europe/Amsterdam (indicators.md): one instant to compare every timestamp with.
set variable known_until = timezone(
    'Europe/Amsterdam', cast(getvariable('peildatum') + interval 1 day as timestamp)
);

-- The project's code lists (seeds), as the warehouse maps old codes to new.
create or replace temp table police_codes as
select * from read_csv(getvariable('seeds') || '/politie_codes.csv', header = true, all_varchar = true);

create or replace temp table instanties as
select compas_code, gps_code, cast(is_politie as boolean) as is_politie
from read_csv(getvariable('seeds') || '/instanties.csv', header = true, all_varchar = true);

create or replace temp table feitcodes as
select * from read_csv(getvariable('seeds') || '/feitcodes.csv', header = true, all_varchar = true);

create or replace temp table parketten as
select parket_code, cast(nullif(gps_vanaf, '') as date) as gps_vanaf
from read_csv(getvariable('seeds') || '/parketten.csv', header = true, all_varchar = true);

-- ---------------------------------------------------------------------------------------
-- BVO: every event known at the peildatum, in arrival order (file names sort by delivery
-- date, time and sequence number; DuckDB keeps the order of files and lines, so the
-- rowid of this table is the arrival order).
set variable bvo_files = (
    select list(file order by file)
    from glob(getvariable('landing') || '/BVO_EVENTS_*.jsonl.gz')
);

create or replace temp table bvo_events as
select event_id, id as record_id, version, op, entity, data
from read_json(
    getvariable('bvo_files'), format = 'newline_delimited', compression = 'gzip',
    columns = {
        event_id: 'VARCHAR', event_time: 'TIMESTAMPTZ', op: 'VARCHAR', entity: 'VARCHAR',
        id: 'VARCHAR', version: 'BIGINT',
        data: 'STRUCT(soort VARCHAR, "start" DATE, einde DATE, interventie VARCHAR,
            keyplayer BOOLEAN, grondslag VARCHAR, beslagdatum DATE, waarde_cent BIGINT,
            aangeboden DATE, kansrijk BOOLEAN, resultaat VARCHAR, legacy_bvh_nummer VARCHAR)'
    }
)
where event_time < getvariable('known_until');

-- Per record: the state is the event of the highest version (two events with the same
-- version: the later arrival); an event delivered twice counts once (its first arrival);
-- the legacy number comes from the latest version that carries data.
create or replace temp table bvo_state as
with

first_arrivals as (
    select * from (select *, rowid as arrival from bvo_events)
    qualify row_number() over (partition by event_id order by arrival) = 1
)

select
    record_id,
    any_value(entity) as entity,
    arg_max(op, (version, arrival)) as op,
    arg_max(data, (version, arrival)) as data,
    arg_max(data.legacy_bvh_nummer, (version, arrival)) filter (where op <> 'delete')
        as legacy_bvh_nummer
from first_arrivals
group by record_id;

-- ---------------------------------------------------------------------------------------
-- Police records: BVO records that exist at the peildatum, and the BVH records of the
-- snapshot in force that no BVO record (with an event known at the peildatum, whatever
-- its state) has taken over.
create or replace temp table investigations as
with

bvh as (
    select
        'bvh' as system,
        onderzoeknummer,
        kinds.bvo_code as kind,
        strptime(startdatum, '%d-%m-%Y')::date as start_date,
        strptime(einddatum, '%d-%m-%Y')::date as end_date,
        interventions.bvo_code as intervention,
        keyplayer = 'J' as is_keyplayer
    from read_csv(
        getvariable('bvh_onderzoek'), delim = ';', quote = '"', escape = '"', header = true,
        auto_detect = false, null_padding = true,
        columns = {
            onderzoeknummer: 'VARCHAR', eenheid: 'VARCHAR', soort: 'VARCHAR',
            startdatum: 'VARCHAR', einddatum: 'VARCHAR', interventie: 'VARCHAR',
            keyplayer: 'VARCHAR'
        }
    ) as rows
    left join police_codes as kinds on kinds.domein = 'soort' and rows.soort = kinds.bvh_code
    left join police_codes as interventions
        on interventions.domein = 'interventie' and rows.interventie = interventions.bvh_code
    where onderzoeknummer <> '#EINDE'
),

bvo as (
    select
        'bvo' as system,
        data.soort as kind,
        data.start as start_date,
        data.einde as end_date,
        data.interventie as intervention,
        data.keyplayer as is_keyplayer
    from bvo_state
    where entity = 'onderzoek' and op <> 'delete'
)

select system, kind, start_date, end_date, intervention, is_keyplayer
from bvh
where onderzoeknummer not in (
    select legacy_bvh_nummer from bvo_state
    where entity = 'onderzoek' and legacy_bvh_nummer is not null
)
union all
select * from bvo;

create or replace temp table seizures as
with

bvh as (
    select
        'bvh' as system,
        beslagnummer,
        legal_bases.bvo_code as legal_basis,
        strptime(beslagdatum, '%d-%m-%Y')::date as seizure_date,
        cast(replace(replace(waarde, '.', ''), ',', '.') as decimal(18, 2)) as value_eur
    from read_csv(
        getvariable('bvh_beslag'), delim = ';', quote = '"', escape = '"', header = true,
        auto_detect = false, null_padding = true,
        columns = {
            beslagnummer: 'VARCHAR', onderzoeknummer: 'VARCHAR', eenheid: 'VARCHAR',
            beslagdatum: 'VARCHAR', registratiedatum: 'VARCHAR', grondslag: 'VARCHAR',
            objectsoort: 'VARCHAR', omschrijving: 'VARCHAR', waarde: 'VARCHAR'
        }
    ) as rows
    left join police_codes as legal_bases
        on legal_bases.domein = 'grondslag' and rows.grondslag = legal_bases.bvh_code
    where beslagnummer <> '#EINDE'
),

bvo as (
    select
        'bvo' as system,
        data.grondslag as legal_basis,
        data.beslagdatum as seizure_date,
        cast(data.waarde_cent * 0.01 as decimal(18, 2)) as value_eur
    from bvo_state
    where entity = 'beslagobject' and op <> 'delete'
)

select system, legal_basis, seizure_date, value_eur
from bvh
where beslagnummer not in (
    select legacy_bvh_nummer from bvo_state
    where entity = 'beslagobject' and legacy_bvh_nummer is not null
)
union all
select * from bvo;

create or replace temp table dossiers as
with

bvh as (
    select
        'bvh' as system,
        dossiernummer,
        strptime(aangeboden, '%d-%m-%Y')::date as offered_date,
        kansrijk = 'J' as is_promising,
        results.bvo_code as result
    from read_csv(
        getvariable('bvh_executie'), delim = ';', quote = '"', escape = '"', header = true,
        auto_detect = false, null_padding = true,
        columns = {
            dossiernummer: 'VARCHAR', eenheid: 'VARCHAR', aangeboden: 'VARCHAR',
            kansrijk: 'VARCHAR', afgedaan: 'VARCHAR', resultaat: 'VARCHAR'
        }
    ) as rows
    left join police_codes as results
        on results.domein = 'resultaat' and rows.resultaat = results.bvh_code
    where dossiernummer <> '#EINDE'
),

bvo as (
    select
        'bvo' as system,
        data.aangeboden as offered_date,
        data.kansrijk as is_promising,
        data.resultaat as result
    from bvo_state
    where entity = 'executiedossier' and op <> 'delete'
)

select system, offered_date, is_promising, result
from bvh
where dossiernummer not in (
    select legacy_bvh_nummer from bvo_state
    where entity = 'executiedossier' and legacy_bvh_nummer is not null
)
union all
select * from bvo;

-- ---------------------------------------------------------------------------------------
-- GPS: every row known at the peildatum, in arrival order (file names sort by delivery
-- date; rowid is the place in the scan, so a tie goes to the later file, then the row
-- further down).
set variable gps_files = (
    select list(file order by file)
    from glob(getvariable('landing') || '/GPS_VERDACHTEZAKEN_*.csv')
);

create or replace temp table gps_rows as
select zaak_id, compas_parketnummer, aanleverende_instantie, wetsartikel, instroomdatum,
    gewijzigd_op, verwijderd
from read_csv(
    getvariable('gps_files'), delim = ',', quote = '"', escape = '"', header = true,
    auto_detect = false,
    columns = {
        zaak_id: 'BIGINT', parketnummer: 'VARCHAR', compas_parketnummer: 'VARCHAR',
        verdachte_bsn: 'VARCHAR', verdachte_geboortedatum: 'VARCHAR',
        verdachte_achternaam: 'VARCHAR', instroomdatum: 'DATE',
        aanleverende_instantie: 'VARCHAR', wetsartikel: 'VARCHAR', afdoening: 'VARCHAR',
        afdoeningsdatum: 'VARCHAR', gewijzigd_op: 'TIMESTAMPTZ', verwijderd: 'BOOLEAN'
    }
)
where gewijzigd_op < getvariable('known_until');

-- The state of a case is its latest row as an instant (a tie: the later arrival); it
-- takes over the COMPAS case its rows name in compas_parketnummer (the latest that does).
create or replace temp table gps_cases as
select
    zaak_id,
    arg_max(compas_parketnummer, (gewijzigd_op, arrival))
        filter (where compas_parketnummer is not null) as compas_parketnummer,
    arg_max(
        (wetsartikel, aanleverende_instantie, instroomdatum, verwijderd), (gewijzigd_op, arrival)
    ) as state
from (select *, rowid as arrival from gps_rows)
group by zaak_id;

-- ---------------------------------------------------------------------------------------
-- COMPAS: per parket the latest snapshot on or before the peildatum and, where the parket
-- moved to GPS, strictly before its move date. A parket the code list lacks has no move.
create or replace temp table compas_snapshots as
select
    file,
    strptime(regexp_extract(file, 'COMPAS_VERDZAKEN_(\d{8})\.DAT$', 1), '%Y%m%d')::date
        as extraction_date
from glob(getvariable('landing') || '/COMPAS_VERDZAKEN_*.DAT');

create or replace temp table compas_in_force as
select parketten.parket_code, max_by(snapshots.file, snapshots.extraction_date) as file
from parketten
inner join compas_snapshots as snapshots
    on
        snapshots.extraction_date <= getvariable('peildatum')
        and (parketten.gps_vanaf is null or snapshots.extraction_date < parketten.gps_vanaf)
group by parketten.parket_code;

set variable compas_latest = (
    select max_by(file, extraction_date) from compas_snapshots
    where extraction_date <= getvariable('peildatum')
);

set variable compas_files = (
    select list(distinct file order by file)
    from (
        select file from compas_in_force
        union all
        select getvariable('compas_latest')
    )
    where file is not null
);

-- Only the cases that could count: trafficking (art. 273f Sr), delivered by a police
-- unit, not voided. A case that is not counted changes no figure, taken over or not.
create or replace temp table compas_cases as
select
    substr(line, 2, 12) as parketnummer,
    cast(strptime(substr(line, 71, 8), '%Y%m%d') as date) as instroomdatum
from read_csv(
    getvariable('compas_files'), columns = {line: 'VARCHAR'}, delim = chr(31), quote = '',
    escape = '', header = false, auto_detect = false, encoding = 'latin-1', filename = true
) as lines
left join compas_in_force on substr(line, 2, 2) = compas_in_force.parket_code
where
    substr(line, 1, 1) = '1'
    and lines.filename = coalesce(compas_in_force.file, getvariable('compas_latest'))
    and substr(line, 83, 6) in (select compas_feitcode from feitcodes where wetsartikel = 'Sr:273f')
    and trim(substr(line, 79, 4)) in (select compas_code from instanties where is_politie)
    and substr(line, 100, 1) = 'N';

-- ---------------------------------------------------------------------------------------
-- The figures: every record that counts for an indicator in a year, then one row per
-- report year and indicator.
create or replace temp table report_years as
select
    cast(year_number as integer) as report_year,
    make_date(cast(year_number as integer), 1, 1) as year_start,
    make_date(cast(year_number as integer), 12, 31) as year_end
from range(2019, year(getvariable('peildatum')) + 1) as years (year_number);

create or replace temp table counted as
-- investigations: active in Y or closed in Y
select
    years.report_year,
    codes.indicator_code,
    records.system,
    null::decimal(18, 2) as value_eur,
    records.intervention = 'alternatief' as is_numerator
from investigations as records
cross join report_years as years
inner join (
    values
        ('csv_onderzoeken', 'criminele_samenwerking', 'active'),
        ('high_tech_crime_onderzoeken', 'high_tech_crime', 'active'),
        ('oskm_keyplayers', 'oskm', 'active_keyplayer'),
        ('cybercrime_regulier', 'cybercrime', 'closed'),
        ('cybercrime_fenomeen', 'cybercrime_fenomeen', 'closed'),
        ('cybercrime_alternatief_pct', 'cybercrime', 'closed'),
        ('cybercrime_alternatief_pct', 'cybercrime_fenomeen', 'closed'),
        ('oskm_onderzoeken', 'oskm', 'closed')
) as codes (indicator_code, kind, rule)
    on records.kind = codes.kind
where
    case codes.rule
        when 'closed' then records.end_date between years.year_start and years.year_end
        else
            records.start_date <= years.year_end
            and (records.end_date is null or records.end_date >= years.year_start)
            and (codes.rule = 'active' or records.is_keyplayer)
    end
union all
-- seizures under art. 94 or 94a Sv, by seizure date
select
    year(records.seizure_date),
    codes.indicator_code,
    records.system,
    records.value_eur,
    null
from seizures as records
cross join (values ('beslag_strafrechtelijk_eur'), ('beslag_ongewaardeerd')) as codes (indicator_code)
where
    records.legal_basis in ('art94', 'art94a')
    and (codes.indicator_code = 'beslag_strafrechtelijk_eur' or records.value_eur is null)
union all
-- promising execution dossiers, by the date offered
select
    year(records.offered_date),
    codes.indicator_code,
    records.system,
    null,
    records.result = 'positief'
from dossiers as records
cross join (values ('executie_dossiers'), ('executie_positief_pct')) as codes (indicator_code)
where records.is_promising
union all
-- OM suspect-cases: GPS cases that exist and count, and COMPAS cases GPS did not take over
select
    year(state[3]),
    'mensenhandel_verdachten',
    'gps',
    null,
    null
from gps_cases
where
    state[1] = 'Sr:273f'
    and not state[4]
    and state[2] in (select gps_code from instanties where is_politie)
union all
select year(instroomdatum), 'mensenhandel_verdachten', 'compas', null, null
from compas_cases
where parketnummer not in (
    select compas_parketnummer from gps_cases where compas_parketnummer is not null
);

with

indicators (indicator_code, unit, position) as (
    values
        ('csv_onderzoeken', 'count', 1),
        ('beslag_strafrechtelijk_eur', 'euro', 2),
        ('beslag_ongewaardeerd', 'count', 3),
        ('mensenhandel_verdachten', 'count', 4),
        ('cybercrime_regulier', 'count', 5),
        ('cybercrime_fenomeen', 'count', 6),
        ('cybercrime_alternatief_pct', 'percent', 7),
        ('high_tech_crime_onderzoeken', 'count', 8),
        ('oskm_onderzoeken', 'count', 9),
        ('oskm_keyplayers', 'count', 10),
        ('executie_dossiers', 'count', 11),
        ('executie_positief_pct', 'percent', 12)
),

figures as (
    select
        years.report_year,
        indicators.indicator_code,
        indicators.unit,
        indicators.position,
        count(counted.system) as records,
        count(counted.system) filter (where counted.is_numerator) as numerator,
        coalesce(sum(counted.value_eur), 0) as amount,
        string_agg(distinct counted.system, '+' order by counted.system) as registration_systems
    from report_years as years
    cross join indicators
    left join counted
        on
            years.report_year = counted.report_year
            and indicators.indicator_code = counted.indicator_code
    group by all
)

-- Percentages: tenths of a percent rounded half away from zero in integer arithmetic on
-- the exact quotient (counts are never negative); over zero records NULL.
select
    report_year,
    indicator_code,
    cast(
        case unit
            when 'count' then records
            when 'euro' then amount
            when 'percent' then
                case
                    when records > 0
                        then ((numerator * 2000 + records) // (2 * records)) * 0.1
                end
        end as decimal(18, 2)
    ) as realisation,
    registration_systems
from figures
order by position, report_year;
