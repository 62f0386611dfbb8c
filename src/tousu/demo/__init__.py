"""Demo and measurement data, made by one engine.

- walk.py: `tousu init` (the organisation, a flow, its departments and users) and, with --demo, a
  few realistic cases walked through the flow by the engine itself;
- bulk.py: `tousu demo generate`, millions of cases written with bulk SQL, asking the engine's
  pure rules (who may act, what an action does to tasks and clocks, what a condition says) rather
  than copying them; tests/reports/test_reports_generate.py replays its cases through the engine.

Not an app (no models): it sits above every app and none imports it.
"""
