"""Recording stand-in for the GitHub CLI: `gh api` on issue comments (rehearsal of the
workflows). Comments live in $REHEARSAL_DIR/comments.json; every call goes to gh.log."""
import json
import os
import re
import sys
from pathlib import Path

STATE = Path(os.environ["REHEARSAL_DIR"])
argv = sys.argv[1:]
with open(STATE / "gh.log", "a") as log:
    log.write(json.dumps(argv) + "\n")
if not os.environ.get("GH_TOKEN"):
    sys.exit("gh: GH_TOKEN is not set")
path = STATE / "comments.json"
comments = json.loads(path.read_text()) if path.exists() else []
if argv[:1] != ["api"]:
    sys.exit(f"gh stand-in: unsupported {argv}")
method = argv[argv.index("-X") + 1] if "-X" in argv else "GET"
url = next(a for a in argv[1:] if a.startswith("repos/"))
body = None
if "-F" in argv:
    field = argv[argv.index("-F") + 1]
    assert field.startswith("body=@"), field
    body = Path(field[len("body=@"):]).read_text()
if method == "GET" and url.endswith("/comments"):
    jq = argv[argv.index("--jq") + 1] if "--jq" in argv else None
    assert jq and "provisioner-plan" in jq, jq
    for c in comments:
        if c["body"].startswith("<!-- provisioner-plan -->"):
            print(c["id"])
elif method == "PATCH":
    cid = int(re.search(r"/comments/(\d+)$", url).group(1))
    next(c for c in comments if c["id"] == cid)["body"] = body
elif method == "POST":
    comments.append({"id": 1000 + len(comments), "body": body,
                     "issue": int(re.search(r"/issues/(\d+)/", url).group(1))})
else:
    sys.exit(f"gh stand-in: unsupported {argv}")
path.write_text(json.dumps(comments, indent=1))
