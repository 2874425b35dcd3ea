"""Read models of the dashboard pages: SQL over the store's tables (SQLAlchemy Core),
the same on SQLite and Postgres.

* :mod:`.calls`: the call journal, filtered and paged, and one call in full;
* :mod:`.reports`: dispositions, the dialed → connected → qualified → booked funnel,
  rates, latency and cost per campaign and date range;
* :mod:`.filters`: the date range and filter values both accept (UTC);
* :mod:`.jsonsql`: fields inside ``calls.report_json`` as SQL expressions.
"""
