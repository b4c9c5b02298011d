# pyketi: heketi-compatible GlusterFS volume manager (REST service).
#
#   docker build -t pyketi .
#   docker run -d -p 8080:8080 \
#       -v /etc/heketi:/etc/heketi:ro \      # heketi.json (+ ssh key, known_hosts)
#       -v pyketi-db:/var/lib/heketi \       # SQLite database
#       pyketi
#
# heketi.json should set "glusterfs": {"db": "/var/lib/heketi/heketi.db", "executor": "ssh",
# "sshexec": {"keyfile": "/etc/heketi/heketi_key", "known_hosts": "/etc/heketi/known_hosts", ...}}.
# The key file must be readable by uid 10001.  The image has the PostgreSQL driver
# (pyketi[postgres]): set PYKETI_DATABASE_URL=postgresql://... to use PostgreSQL instead.
#
# The CSI driver image (pyketi-csi, glusterfs client inside; deploy/kubernetes/csi):
#   docker build --target csi -t pyketi-csi .

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY pyketi ./pyketi
COPY migrations ./migrations
RUN pip install --prefix=/install "./[postgres]" \
 && pip install --prefix=/install-csi "./[csi]"

# pyketi-csi: the node plugin mounts as root (mount -t glusterfs, bind mounts); the
# controller Deployment runs the same image as uid 10001.
FROM python:3.11-slim AS csi
LABEL org.opencontainers.image.title="pyketi-csi" \
      org.opencontainers.image.description="CSI driver for Gluster volumes managed by pyketi or heketi" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# glusterfs-client: mount.glusterfs and the FUSE client; Debian's current build (security
# updates change the revision, so it is not pinned)
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends glusterfs-client \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /install-csi /usr/local
ENTRYPOINT ["pyketi-csi"]
CMD ["--endpoint", "unix:///csi/csi.sock"]

FROM python:3.11-slim
LABEL org.opencontainers.image.title="pyketi" \
      org.opencontainers.image.description="heketi-compatible GlusterFS volume manager" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEKETI_HTTP_PORT=8080
RUN groupadd --system --gid 10001 pyketi \
 && useradd --system --uid 10001 --gid pyketi --home-dir /var/lib/heketi \
        --no-create-home --shell /usr/sbin/nologin pyketi \
 && mkdir -p /etc/heketi /var/lib/heketi \
 && chown pyketi:pyketi /var/lib/heketi
COPY --from=build /install /usr/local
USER 10001:10001
WORKDIR /var/lib/heketi
VOLUME ["/etc/heketi", "/var/lib/heketi"]
EXPOSE 8080
# /healthz: the process answers (open, no database); /readyz is for orchestrators' readiness
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEKETI_HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["pyketi"]
CMD ["serve", "--config", "/etc/heketi/heketi.json"]
