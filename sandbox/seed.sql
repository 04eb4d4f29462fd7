-- Sandbox seed: Care Commons-like data of any size, for `pgdrill sandbox up`.
--
-- Load into a database that already holds the fixtures schema
-- (tests/fixtures/sql/care-commons-schema.sql):
--
--   psql -v ON_ERROR_STOP=1 -v visits=100000 -f sandbox/seed.sql
--
-- Row counts depend only on :visits (N), so tests can assert them exactly:
--
--   organizations  3
--   caregivers     C = greatest(40, N / 250)
--   users          20 + C      users 1..20 run the office (user 1 is
--                              test@example.com, the procedures' spot
--                              check); user 20 + k is caregiver k
--   clients        K = greatest(200, N / 50)
--   visits         N           visit g: client (g-1) % K + 1,
--                              caregiver (g*7) % C + 1
--
-- Timestamps are relative to the moment of seeding, so the data looks live:
-- visits were created over the last 90 days, the newest one just now, each
-- scheduled two to three days after it was created; a visit whose start has
-- passed carries its EVV check-in (GPS position and time), later ones do
-- not yet. Everything is generate_series: 100,000 visits load in seconds.

\if :{?visits}
\else
\set visits 100000
\endif

BEGIN;

SELECT now() AS seed_end,
       greatest(40, :visits / 250) AS n_caregivers,
       greatest(200, :visits / 50) AS n_clients
\gset

INSERT INTO organizations (id, name, state, created_at, updated_at)
SELECT g,
       (ARRAY['Sunrise Home Care', 'Riverbend Care Partners', 'Maple Street Caregivers'])[g],
       (ARRAY['OH', 'PA', 'TX'])[g],
       timestamptz :'seed_end' - interval '400 days' + (g - 1) * interval '10 days',
       timestamptz :'seed_end' - interval '400 days' + (g - 1) * interval '10 days'
FROM generate_series(1, 3) AS g;

INSERT INTO users (id, organization_id, email, full_name, role, created_at, updated_at)
SELECT g,
       (g - 1) % 3 + 1,
       CASE WHEN g = 1 THEN 'test@example.com' ELSE format('user%s@carecommons.example', g) END,
       format('User %s', g),
       CASE WHEN g <= 5 THEN 'admin' WHEN g <= 20 THEN 'coordinator' ELSE 'caregiver' END,
       timestamptz :'seed_end' - interval '380 days' + g * interval '1 hour',
       timestamptz :'seed_end' - interval '380 days' + g * interval '1 hour'
FROM generate_series(1, 20 + :n_caregivers) AS g;

INSERT INTO clients (id, organization_id, first_name, last_name, date_of_birth, medicaid_id,
                     created_at, updated_at)
SELECT g,
       (g - 1) % 3 + 1,
       (ARRAY['Ada', 'Ben', 'Cora', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro'])[(g - 1) % 8 + 1],
       format('Client%s', g),
       date '1930-01-01' + (g * 53) % 20000,
       format('MC%07s', g),
       timestamptz :'seed_end' - interval '370 days' + g * interval '10 minutes',
       timestamptz :'seed_end' - interval '370 days' + g * interval '10 minutes'
FROM generate_series(1, :n_clients) AS g;

INSERT INTO caregivers (id, organization_id, user_id, first_name, last_name, phone,
                        created_at, updated_at)
SELECT g,
       (g + 19) % 3 + 1,
       g + 20,
       (ARRAY['Ines', 'Jon', 'Kemi', 'Luis', 'Mona'])[(g - 1) % 5 + 1],
       format('Caregiver%s', g),
       format('+1-614-555-%s', lpad((g % 10000)::text, 4, '0')),
       timestamptz :'seed_end' - interval '380 days' + (g + 20) * interval '1 hour',
       timestamptz :'seed_end' - interval '380 days' + (g + 20) * interval '1 hour'
FROM generate_series(1, :n_caregivers) AS g;

INSERT INTO visits (id, client_id, caregiver_id, scheduled_start, scheduled_end,
                    check_in_lat, check_in_lon, checked_in_at, created_at, updated_at)
SELECT g,
       (g - 1) % :n_clients + 1,
       (g * 7) % :n_caregivers + 1,
       v.start,
       v.start + interval '1 hour' + (g % 3) * interval '30 minutes',
       CASE WHEN v.in_at <= v.seed_end THEN 39.961176 + (g % 100) * 0.001 END,
       CASE WHEN v.in_at <= v.seed_end THEN -82.998794 - (g % 50) * 0.001 END,
       CASE WHEN v.in_at <= v.seed_end THEN v.in_at END,
       v.created,
       CASE WHEN v.in_at <= v.seed_end THEN v.in_at ELSE v.created END
FROM generate_series(1, :visits) AS g,
     LATERAL (SELECT c.created, c.seed_end,
                     c.created + interval '2 days' + (g % 24) * interval '1 hour' AS start,
                     c.created + interval '2 days' + (g % 24) * interval '1 hour'
                         + (g % 10) * interval '1 minute' AS in_at
              FROM (SELECT timestamptz :'seed_end' AS seed_end,
                           timestamptz :'seed_end'
                               - (:visits - g) * (interval '90 days' / :visits) AS created) AS c
             ) AS v;

-- Explicit ids above: move the identity sequences past them, so rows the
-- application (or a drill) inserts later get fresh ids.
SELECT setval(pg_get_serial_sequence('organizations', 'id'), 3) \gset
SELECT setval(pg_get_serial_sequence('users', 'id'), 20 + :n_caregivers) \gset
SELECT setval(pg_get_serial_sequence('clients', 'id'), :n_clients) \gset
SELECT setval(pg_get_serial_sequence('caregivers', 'id'), :n_caregivers) \gset
SELECT setval(pg_get_serial_sequence('visits', 'id'), greatest(:visits, 1)) \gset

COMMIT;

-- Exact pg_stat_user_tables.n_live_tup for the table-count check.
SELECT pg_stat_force_next_flush() \gset
ANALYZE;
