# The emotrace HTTP service and web page:
#   docker build -t emotrace . && docker run -p 8000:8000 emotrace     # then open http://localhost:8000/
# Add --build-arg EXTRAS=serve,audio,face to fuse uploaded audio and video with the text model.
FROM python:3.11-slim

ARG EXTRAS=serve
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1
WORKDIR /app

# torch first, from PyTorch's CPU index: PyPI's Linux wheel bundles CUDA (gigabytes the service never uses).
COPY constraints.txt ./
RUN pip install -c constraints.txt --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install -c constraints.txt ".[${EXTRAS}]"

RUN useradd --create-home emotrace
USER emotrace
EXPOSE 8000
HEALTHCHECK --start-period=120s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
CMD ["emotrace", "serve", "--host", "0.0.0.0"]
