"""Native messaging: the browser extension starts drayman and learns its RPC port and secret.

:mod:`.protocol` reads and writes the browser's messages (a 4-byte length in
native byte order, then UTF-8 JSON); :mod:`.host` is ``drayman native-host``,
the program the browser starts; :mod:`.install` writes (and removes) the
host manifest where each browser looks for it (``drayman browser install``).
"""

from __future__ import annotations

#: the name the extension asks for (``chrome.runtime.connectNative(HOST_NAME)``)
HOST_NAME = "org.drayman.host"

#: drayman's extension in Chromium-based browsers: the ID that the public key in
#: browser/manifest.json gives (the same wherever the folder is loaded unpacked)
CHROMIUM_EXTENSION_ID = "lmckbohldiijbffdcifkdmpananclfgh"
#: drayman's extension in Firefox (browser_specific_settings.gecko.id)
FIREFOX_EXTENSION_ID = "extension@drayman"

#: what the host manifests allow, and all the host answers
ALLOWED_ORIGINS = (f"chrome-extension://{CHROMIUM_EXTENSION_ID}/",)
ALLOWED_EXTENSIONS = (FIREFOX_EXTENSION_ID,)
