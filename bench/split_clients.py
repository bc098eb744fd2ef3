"""Clients for the shared download benchmark: drayman with and without segments.

A ``--clients-file`` for ``/work/shared/bench/run.py``; it adds
``drayman-split1`` (one connection per file) beside the harness's own
``drayman`` (``--split 8`` by default) and ``aria2c-x8``. The drayman on
PATH is the one of the venv given with ``--venv`` (an absolute path). The
figures of the segmented downloads work (W4 against aria2c -x8 -s8, W1
against curl), run from the project root::

    DLBENCH_DIR=/tmp/dlbench-seg python3 /work/shared/bench/run.py \\
        --data /tmp/dlbench/data --venv "$PWD/.venv" --clients-file bench/split_clients.py \\
        --workloads W4 --clients drayman,aria2c-x8 --only bench --runs 3 --runs-for W4=3
    DLBENCH_DIR=/tmp/dlbench-seg python3 /work/shared/bench/run.py \\
        --data /tmp/dlbench/data --venv "$PWD/.venv" --clients-file bench/split_clients.py \\
        --workloads W1 --clients drayman,drayman-split1,curl --only bench --runs 3
"""

_RUN = (
    "drayman --db {db} add {url} -d {out_dir} >/dev/null"
    " && drayman --db {db} run --until-idle -j 16"
)

CLIENTS = {
    "drayman-split1": {
        "single": _RUN + " --split 1",
        "version": "drayman --version",
        "note": "one connection per file",
    },
}
