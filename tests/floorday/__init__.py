"""A simulated floor-day: the real server, a simulated customer line, several real agent apps and a
TL app (each its own process, driven through the UI), network drops and an app restart; at the end
the server's daily report is checked against each agent's KPI strip and against what the driver did.
Run ``python -m tests.floorday`` (``--agents N --calls N --seed S``)."""
