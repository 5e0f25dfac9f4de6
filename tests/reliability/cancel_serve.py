"""Child process of the cancellation test: serve `text_to_video` as a deployment.

Usage: `python cancel_serve.py <deployment name>`. Prefect settings (the test server's API
URL, a private PREFECT_HOME and result storage, a 1 s runner poll) come from the
environment the test gives. Runs until the test stops it.
"""

from __future__ import annotations

import sys

from prefect import serve

from prefect_videogen.flows import text_to_video

if __name__ == "__main__":
    serve(text_to_video.to_deployment(name=sys.argv[1]), print_starting_message=True)
