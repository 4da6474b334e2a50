"""Queries soundlake's Flight SQL endpoint with Apache Arrow's ADBC driver, as a notebook would.

Usage: flight_sql_client.py URI TOKEN (tables | query SQL)
Prints each row of the answer as one JSON object per line (or the tables the endpoint lists,
as layer.name); on a refusal, prints the error on stderr and exits with 3.
"""

import json
import sys

import adbc_driver_flightsql.dbapi as flight_sql
from adbc_driver_flightsql import DatabaseOptions


def main() -> int:
    uri, token, what = sys.argv[1], sys.argv[2], sys.argv[3]
    options = {DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {token}"}
    try:
        with flight_sql.connect(uri, db_kwargs=options) as connection:
            if what == "tables":
                objects = connection.adbc_get_objects(depth="tables").read_all().to_pylist()
                for catalog in objects:
                    for schema in catalog["catalog_db_schemas"] or []:
                        for table in schema["db_schema_tables"] or []:
                            print(f'{schema["db_schema_name"]}.{table["table_name"]}')
                return 0
            with connection.cursor() as cursor:
                cursor.execute(sys.argv[4])
                for row in cursor.fetch_arrow_table().to_pylist():
                    print(json.dumps(row))
    except flight_sql.Error as error:
        print(error, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
