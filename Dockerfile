# Production image of sohoa (Debian, like the machines it is developed and tested on).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-vie \
      tesseract-ocr-script-viet libgs-common poppler-utils \
 && rm -rf /var/lib/apt/lists/*
# An unprivileged user with a fixed uid/gid (volumes and backups keep the same owner across
# rebuilds); /data is its own, mode 0700, and a new named volume on /data inherits that owner.
RUN groupadd --system --gid 10001 sohoa \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin sohoa \
 && install -d -o 10001 -g 10001 -m 0700 /data
WORKDIR /opt/sohoa
COPY . .
RUN pip install --no-cache-dir .
ENV SOHOA_DATA_DIR=/data OMP_THREAD_LIMIT=1
VOLUME ["/data"]
# Everything from here on, and every container, runs as sohoa: the source and the installed
# package stay root's and read-only to it.
USER 10001:10001
ENTRYPOINT ["sohoa"]
CMD ["run"]
