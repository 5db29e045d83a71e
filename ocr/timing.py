"""Start-up timestamps for the benchmark (issue #17): `SOHOA_TIMING=1` makes `sohoa ocr` write
`sohoa-timing EVENT EPOCH_SECONDS THREAD_CPU_SECONDS` lines to stderr at the moments that define its
start-up (the CPU seconds are those of the thread that stamps, so far: on a loaded machine they say
what the wall time would be on an idle one).

Events: `page-1` (this process begins work on the first page: its decoding starts),
`page-1-ocr` (the first page's OCR image is ready and its recognition is asked for) and
`engine-ready` (the Tesseract model, loaded in parallel, can be used). The start-up to the
first page is `page-1` minus the process start, plus any wait for the engine after `page-1-ocr`
(bench/ocr_bench.py computes it). Nothing is written without the variable.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "SOHOA_TIMING"


def stamp(event: str) -> None:
    if os.environ.get(ENV):
        line = f"sohoa-timing {event} {time.time():.6f} {time.thread_time():.6f}\n"
        sys.stderr.flush()
        os.write(sys.stderr.fileno(), line.encode())  # one write: the model-loading thread stamps too
