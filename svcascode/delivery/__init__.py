"""Service levels as delivered: SLA clocks, availability attained per window, and the definitions in force.

- `timeline`: which ServiceLevel, calendars and maintenance windows were in force at a moment, read from
  the last commit on the first-parent line at or before it (`Definitions`), each result naming its commit;
- `clocks`: response and resolution clocks of an incident against every level of an affected service;
- `attainment`: availability attained per measurement window, error budget and service credits;
- `review`: the service review of a period, which every output format of `svcascode sla` renders.

Incidents are read duck-typed (`spec.priority`, `spec.opened`, `spec.impacts`, ...), as the Incident kind
declares them; every instant is a timezone-aware UTC datetime and every duration exact minutes (Fraction).
"""
