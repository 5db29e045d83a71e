# Production image of sohoa (Debian, like the machines it is developed and tested on).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-vie \
      tesseract-ocr-script-viet libgs-common poppler-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/sohoa
COPY . .
RUN pip install --no-cache-dir .
ENV SOHOA_DATA_DIR=/data OMP_THREAD_LIMIT=1
VOLUME ["/data"]
ENTRYPOINT ["sohoa"]
CMD ["run"]
