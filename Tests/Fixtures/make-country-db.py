#!/usr/bin/env python3
"""Writes a small MaxMind-format country database for Pnyx's tests (PyPI: mmdb-writer).

    make-country-db.py OUT.mmdb

Networks are documentation ranges, so nothing here says anything about a real address:
  198.51.100.0/24  country US
  203.0.113.0/24   country RU
  192.0.2.0/24     registered_country FR only (no `country` record)
  2001:db8:1::/48  country DE
"""
import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet

writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True,
                    description="Pnyx test country database")
writer.insert_network(IPSet(["198.51.100.0/24"]), {"country": {"iso_code": "US"}})
writer.insert_network(IPSet(["203.0.113.0/24"]), {"country": {"iso_code": "RU"}})
writer.insert_network(IPSet(["192.0.2.0/24"]), {"registered_country": {"iso_code": "FR"}})
writer.insert_network(IPSet(["2001:db8:1::/48"]), {"country": {"iso_code": "DE"}})
writer.to_db_file(sys.argv[1])
