"""Opens a soundlake Delta table with the Python `deltalake` package (delta-rs's Python
binding, a reader independent of soundlake's) and prints what it sees as JSON: the version,
the row count, the partition columns and the distinct partitions.

Usage: read_delta.py TABLE_DIR [VERSION]
"""

import json
import os
import sys

from deltalake import DeltaTable


def main() -> None:
    path = sys.argv[1]
    version = int(sys.argv[2]) if len(sys.argv) > 2 else None
    table = DeltaTable(path, version=version)
    data = table.to_pyarrow_table()
    columns = table.metadata().partition_columns
    partitions = set()
    if columns:
        values = [data.column(c).to_pylist() for c in columns]
        partitions = {"/".join(f"{c}={v}" for c, v in zip(columns, row)) for row in zip(*values)}
    print(
        json.dumps(
            {
                "version": table.version(),
                "rows": data.num_rows,
                "partition_columns": columns,
                "partitions": sorted(partitions),
            }
        )
    )


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    # The deltalake wheel's background threads can abort the interpreter's normal shutdown
    # ("terminate called without an active exception"); the answer is printed by now.
    os._exit(0)
