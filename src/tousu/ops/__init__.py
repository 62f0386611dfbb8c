"""Operations and privacy: backup and restore, retention (anonymising closed cases whose period has
ended), the log of disclosures (who saw or exported whose personal data, per case) with the
auditor's screen, and a complainant's data export. Its one table lists the cases of each bulk export
that carried personal data; the rest works on the other apps' tables. Commands are in `cli.py`."""
