"""drayman as a client of the shared download benchmark (``run.py --clients-file``).

``bench/download.py`` passes this file; it sets ``DRAYMAN_BIN`` to the drayman
of the Python that runs it, so the figures are for this checkout. The command
lines are the ones a user types (``add`` then ``run --until-idle``); the
``add`` is inside the timed run.
"""

import os
import shlex

DRAYMAN = shlex.quote(os.environ.get("DRAYMAN_BIN", "drayman"))
ASYNCIO = "DRAYMAN_EVENT_LOOP=asyncio "


def _commands(prefix: str = "") -> dict[str, str]:
    add_one = f"{prefix}{DRAYMAN} --db {{db}} add {{url}} -d {{out_dir}} >/dev/null"
    add_list = f"{prefix}{DRAYMAN} --db {{db}} add -i {{list_file}} -d {{out_dir}} >/dev/null"
    run = f"{prefix}{DRAYMAN} --db {{db}} run --until-idle -j 16"
    return {
        "single": f"{add_one} && {run}",
        "multi": f"{add_list} && {run}",
        "version": f"{DRAYMAN} --version",
    }


#: curl, then an fsync of every file it wrote (coreutils ``sync FILE...``):
#: the durability drayman's "done" includes, which curl's own rows do not pay
CURL = "curl -sS --fail --no-progress-meter"
CURL_FSYNC = {
    "single": f"{CURL} -o {{out_dir}}/{{name}} {{url}} && sync {{out_dir}}/{{name}}",
    "multi": f"{CURL} --parallel --parallel-max 16 --output-dir {{out_dir}} --remote-name-all "
    "-K {curl_config} && sync {out_dir}/*",
    "version": "curl --version | head -1",
    "note": "curl, then fsync of each file it wrote",
}

CLIENTS = {
    "curl-fsync": CURL_FSYNC,
    # uvloop when installed (the "fast" extra), as a user gets it
    "drayman": _commands(),
    # the standard asyncio loop, for comparison (and what Windows runs)
    "drayman-asyncio": {**_commands(ASYNCIO), "note": "DRAYMAN_EVENT_LOOP=asyncio"},
}

RESUME_CLIENTS = {
    "drayman": {
        "start": f"{DRAYMAN} --db {{db}} add {{url}} -d {{out_dir}} >/dev/null && "
        f"{DRAYMAN} --db {{db}} run --until-idle",
        "resume": f"{DRAYMAN} --db {{db}} run --until-idle",
    },
}
