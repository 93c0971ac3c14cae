-- Report rollups (docs/plugins/tickets.md#reports): figures per creation hour (UTC), kept exact by
-- statement-level triggers in the transaction of every change to tickets, so that a report sums
-- a few thousand rollup rows instead of reading every ticket of its window. The ticket write paths
-- do not know about them. Windows are not hour-aligned: readers take whole hours from here and the
-- partial edge hours exactly from the tickets (plugins/tickets/report-*.ts).
--
-- Every rollup counts live tickets only (deleted_at is null). Rows are keyed by hour and, where
-- concurrent creates would meet on one row, by `shard` (hashtext(id) & 7): readers sum the shards.
-- Sums of durations are exact (numeric microseconds), so subtracting a ticket's old contribution
-- and adding its new one never drifts.

-- The UTC hour of an instant (±infinity stays as it is). date_bin is immutable, unlike
-- date_trunc on timestamptz, which depends on the session's time zone.
create or replace function tickets_report_hour(at timestamptz) returns timestamptz
  language sql immutable parallel safe
  as $$ select case when isfinite(at) then date_bin('1 hour', at, timestamptz '2000-01-01 00:00:00+00') else at end $$;

-- When a ticket becomes SLA-breached: breached(now) = now > breach_at, for every now. A target
-- met late is breached for ever (-infinity); one still unmet breaches at its due time; null: never.
create or replace function tickets_report_breach_at(
  fr_due timestamptz, fr_at timestamptz, res_due timestamptz, resolved_at timestamptz
) returns timestamptz language sql immutable parallel safe as $$
  select case
    when fr_at > fr_due or resolved_at > res_due then timestamptz '-infinity'
    else least(case when fr_at is null then fr_due end, case when resolved_at is null then res_due end)
  end $$;

-- When both SLA targets of a ticket are decided (met, or unmet past due), as metrics/sla counts:
-- decided(now) = now > decided_at. Null: never (no SLA, or an unresolved ticket with no resolution
-- due time).
create or replace function tickets_report_decided_at(
  fr_due timestamptz, fr_at timestamptz, res_due timestamptz, resolved_at timestamptz
) returns timestamptz language sql immutable parallel safe as $$
  select case
    when fr_due is null or (resolved_at is null and res_due is null) then null
    else greatest(case when fr_at is null then fr_due else timestamptz '-infinity' end,
                  case when resolved_at is null then res_due else timestamptz '-infinity' end)
  end $$;

-- Tickets by creation hour: counts by current status, SLA counts, and the means' counts and sums.
create table ticket_report_created (
  hour timestamptz not null,
  shard smallint not null,
  total bigint not null default 0,
  open bigint not null default 0,
  in_progress bigint not null default 0,
  closed bigint not null default 0,
  -- With an SLA (first_response_due_at set); of those, met both targets.
  sla_total bigint not null default 0,
  met bigint not null default 0,
  -- First reply (hang) of tickets not resolved or closed, of all, and resolution: n and
  -- microseconds.
  n_hang_unresolved bigint not null default 0,
  s_hang_unresolved numeric not null default 0,
  n_hang bigint not null default 0,
  s_hang numeric not null default 0,
  n_resolution bigint not null default 0,
  s_resolution numeric not null default 0,
  primary key (hour, shard)
);

-- The same over all time, per shard: stats' all-time figures without reading every hour.
create table ticket_report_totals (
  shard smallint primary key,
  total bigint not null default 0,
  open bigint not null default 0,
  in_progress bigint not null default 0,
  closed bigint not null default 0,
  sla_total bigint not null default 0,
  met bigint not null default 0,
  n_hang_unresolved bigint not null default 0,
  s_hang_unresolved numeric not null default 0,
  n_hang bigint not null default 0,
  s_hang numeric not null default 0,
  n_resolution bigint not null default 0,
  s_resolution numeric not null default 0
);

-- Tickets by creation hour and the hour of their breach_at (analytics/summary's sla_breached):
-- rows before now's hour are breached; now's hour is read exactly (tickets_report_breach_idx).
create table ticket_report_breach (
  hour timestamptz not null,
  breach_hour timestamptz not null,
  shard smallint not null,
  n bigint not null default 0,
  primary key (hour, breach_hour, shard)
);

-- Tickets by creation hour and the hour of their decided_at (metrics/sla's total), as above.
create table ticket_report_decided (
  hour timestamptz not null,
  decided_hour timestamptz not null,
  shard smallint not null,
  n bigint not null default 0,
  primary key (hour, decided_hour, shard)
);

-- Closed tickets by close hour and closer ('' when closed_by is null): closed in a window, and
-- leaderboards. One closer seldom closes two tickets at once: no shard.
create table ticket_report_closes (
  hour timestamptz not null,
  closed_by text not null,
  n bigint not null default 0,
  primary key (hour, closed_by)
);

-- The same over all time (the all-time leaderboard).
create table ticket_report_closer_totals (
  closed_by text primary key,
  n bigint not null default 0
);

-- Closed tickets by close hour and creation hour (stats' closed_today_from_today).
create table ticket_report_closed_created (
  hour timestamptz not null,
  created_hour timestamptz not null,
  n bigint not null default 0,
  primary key (hour, created_hour)
);

-- The exact edges: tickets breaching, or becoming decided, within now's hour; closed tickets by
-- creation time (created in an edge hour, closed in another).
create index tickets_report_breach_idx on tickets (
  tickets_report_breach_at(first_response_due_at, first_response_at, resolution_due_at, resolved_at)
) include (created_at) where deleted_at is null;
create index tickets_report_decided_idx on tickets (
  tickets_report_decided_at(first_response_due_at, first_response_at, resolution_due_at, resolved_at)
) include (created_at) where deleted_at is null;
create index tickets_report_created_closed_idx on tickets (created_at) include (closed_at)
  where deleted_at is null and closed_at is not null;

-- The maintenance. One statement (data-modifying CTEs) adds the signed contribution of each row
-- of a source (+1: a row as it is now; -1: as it was) grouped by rollup key, skipping keys whose
-- change is zero, with `insert ... on conflict do update` in key order: concurrent statements lock
-- rollup rows in one order, so they wait for each other but never deadlock. The same text serves
-- the three triggers and the rebuild, each with its own source (generated below, once).
do $migration$
declare
  cols constant text := 'id, created_at, status, first_response_at, resolved_at, closed_at, closed_by, '
    'first_response_due_at, resolution_due_at, deleted_at';
  -- The figures that decide the rollups: an update that changes none of them changes nothing.
  watched constant text := 'created_at, status, first_response_at, resolved_at, closed_at, closed_by, '
    'first_response_due_at, resolution_due_at, deleted_at';
  apply constant text := $apply$
    with src as (%s),
    c as (
      select sign, tickets_report_hour(created_at) as hour, (hashtext(id::text) & 7)::smallint as shard,
        status, tickets_report_hour(closed_at) as closed_hour, coalesce(closed_by, '') as closed_by,
        case when first_response_due_at is not null then sign else 0 end as sla_total,
        case when first_response_at <= first_response_due_at and resolved_at <= resolution_due_at
          then sign else 0 end as met,
        case when first_response_at is not null and status not in ('resolved', 'closed')
          then sign else 0 end as n_hang_unresolved,
        case when first_response_at is not null and status not in ('resolved', 'closed')
          then sign * extract(epoch from first_response_at - created_at) * 1000000 else 0 end as s_hang_unresolved,
        case when first_response_at is not null then sign else 0 end as n_hang,
        case when first_response_at is not null
          then sign * extract(epoch from first_response_at - created_at) * 1000000 else 0 end as s_hang,
        case when resolved_at is not null then sign else 0 end as n_resolution,
        case when resolved_at is not null
          then sign * extract(epoch from resolved_at - created_at) * 1000000 else 0 end as s_resolution,
        tickets_report_hour(tickets_report_breach_at(first_response_due_at, first_response_at,
          resolution_due_at, resolved_at)) as breach_hour,
        tickets_report_hour(tickets_report_decided_at(first_response_due_at, first_response_at,
          resolution_due_at, resolved_at)) as decided_hour
      from src where deleted_at is null
    ),
    g as (
      select hour, shard, sum(sign) as total,
        sum(case when status = 'open' then sign else 0 end) as open,
        sum(case when status = 'in_progress' then sign else 0 end) as in_progress,
        sum(case when status = 'closed' then sign else 0 end) as closed,
        sum(sla_total) as sla_total, sum(met) as met,
        sum(n_hang_unresolved) as n_hang_unresolved, sum(s_hang_unresolved) as s_hang_unresolved,
        sum(n_hang) as n_hang, sum(s_hang) as s_hang,
        sum(n_resolution) as n_resolution, sum(s_resolution) as s_resolution
      from c group by hour, shard
    ),
    created as (
      insert into ticket_report_created as r select * from g
      where (total, open, in_progress, closed, sla_total, met, n_hang_unresolved, s_hang_unresolved,
        n_hang, s_hang, n_resolution, s_resolution) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
      order by hour, shard
      on conflict (hour, shard) do update set total = r.total + excluded.total, open = r.open + excluded.open,
        in_progress = r.in_progress + excluded.in_progress, closed = r.closed + excluded.closed,
        sla_total = r.sla_total + excluded.sla_total, met = r.met + excluded.met,
        n_hang_unresolved = r.n_hang_unresolved + excluded.n_hang_unresolved,
        s_hang_unresolved = r.s_hang_unresolved + excluded.s_hang_unresolved,
        n_hang = r.n_hang + excluded.n_hang, s_hang = r.s_hang + excluded.s_hang,
        n_resolution = r.n_resolution + excluded.n_resolution, s_resolution = r.s_resolution + excluded.s_resolution
    ),
    totals as (
      insert into ticket_report_totals as r
      select shard, sum(total), sum(open), sum(in_progress), sum(closed), sum(sla_total), sum(met),
        sum(n_hang_unresolved), sum(s_hang_unresolved), sum(n_hang), sum(s_hang), sum(n_resolution), sum(s_resolution)
      from g group by shard
      having (sum(total), sum(open), sum(in_progress), sum(closed), sum(sla_total), sum(met), sum(n_hang_unresolved),
        sum(s_hang_unresolved), sum(n_hang), sum(s_hang), sum(n_resolution), sum(s_resolution))
        <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
      order by shard
      on conflict (shard) do update set total = r.total + excluded.total, open = r.open + excluded.open,
        in_progress = r.in_progress + excluded.in_progress, closed = r.closed + excluded.closed,
        sla_total = r.sla_total + excluded.sla_total, met = r.met + excluded.met,
        n_hang_unresolved = r.n_hang_unresolved + excluded.n_hang_unresolved,
        s_hang_unresolved = r.s_hang_unresolved + excluded.s_hang_unresolved,
        n_hang = r.n_hang + excluded.n_hang, s_hang = r.s_hang + excluded.s_hang,
        n_resolution = r.n_resolution + excluded.n_resolution, s_resolution = r.s_resolution + excluded.s_resolution
    ),
    breach as (
      insert into ticket_report_breach as r
      select hour, breach_hour, shard, sum(sign) from c where breach_hour is not null
      group by 1, 2, 3 having sum(sign) <> 0 order by 1, 2, 3
      on conflict (hour, breach_hour, shard) do update set n = r.n + excluded.n
    ),
    decided as (
      insert into ticket_report_decided as r
      select hour, decided_hour, shard, sum(sign) from c where decided_hour is not null
      group by 1, 2, 3 having sum(sign) <> 0 order by 1, 2, 3
      on conflict (hour, decided_hour, shard) do update set n = r.n + excluded.n
    ),
    closes as (
      insert into ticket_report_closes as r
      select closed_hour, closed_by, sum(sign) from c where closed_hour is not null
      group by 1, 2 having sum(sign) <> 0 order by 1, 2
      on conflict (hour, closed_by) do update set n = r.n + excluded.n
    ),
    closers as (
      insert into ticket_report_closer_totals as r
      select closed_by, sum(sign) from c where closed_hour is not null
      group by 1 having sum(sign) <> 0 order by 1
      on conflict (closed_by) do update set n = r.n + excluded.n
    )
    insert into ticket_report_closed_created as r
    select closed_hour, hour, sum(sign) from c where closed_hour is not null
    group by 1, 2 having sum(sign) <> 0 order by 1, 2
    on conflict (hour, created_hour) do update set n = r.n + excluded.n
  $apply$;
  changed constant text := format(
    '(o.id is null or n.id is null or (%s) is distinct from (%s))',
    regexp_replace(watched, '(\w+)', 'o.\1', 'g'), regexp_replace(watched, '(\w+)', 'n.\1', 'g'));
  sources constant text[][] := array[
    ['tickets_report_on_insert', format('select 1 as sign, %s from new_rows', cols)],
    ['tickets_report_on_delete', format('select -1 as sign, %s from old_rows', cols)],
    ['tickets_report_on_update', format(
      'select -1 as sign, %s from old_rows o left join new_rows n using (id) where %s '
      'union all select 1 as sign, %s from new_rows n left join old_rows o using (id) where %s',
      regexp_replace(cols, '(\w+)', 'o.\1', 'g'), changed, regexp_replace(cols, '(\w+)', 'n.\1', 'g'), changed)]
  ];
  i int;
begin
  for i in 1 .. array_length(sources, 1) loop
    -- A statement that changed no watched figure (a comment's search text, updated_at) costs one
    -- probe of its transition tables and writes nothing.
    execute format($f$create function %I() returns trigger language plpgsql as $fn$
      begin
        perform 1 from (%s) s limit 1;
        if found then
          %s;
        end if;
        return null;
      end $fn$$f$, sources[i][1], sources[i][2], format(apply, sources[i][2]));
  end loop;
  -- The rebuild: every rollup recomputed from the tickets, writes to tickets held off meanwhile.
  -- Run here once (the backfill), and by operators or bulk loads that disabled the triggers.
  execute format($f$create function tickets_report_rebuild() returns void language plpgsql as $fn$
    begin
      lock table tickets in share mode;
      delete from ticket_report_created; delete from ticket_report_totals;
      delete from ticket_report_breach; delete from ticket_report_decided;
      delete from ticket_report_closes; delete from ticket_report_closer_totals;
      delete from ticket_report_closed_created;
      %s;
    end $fn$$f$, format(apply, format('select 1 as sign, %s from tickets', cols)));
end
$migration$;

create function tickets_report_on_truncate() returns trigger language plpgsql as $$
begin
  perform tickets_report_rebuild();
  return null;
end $$;

create trigger tickets_report_insert after insert on tickets
  referencing new table as new_rows for each statement execute function tickets_report_on_insert();
create trigger tickets_report_update after update on tickets
  referencing old table as old_rows new table as new_rows for each statement execute function tickets_report_on_update();
create trigger tickets_report_delete after delete on tickets
  referencing old table as old_rows for each statement execute function tickets_report_on_delete();
create trigger tickets_report_truncate after truncate on tickets
  for each statement execute function tickets_report_on_truncate();

select tickets_report_rebuild();
