"""Operations and privacy: backup and restore, retention (anonymising closed cases whose period has
ended), the reveal log and a complainant's data export. No models of its own: it works on the other
apps' tables, and its commands are in `cli.py`."""
