# The live segmenter image: the tacticeye-segmenter binary, Debian's ffmpeg and yt-dlp. It runs as a
# Fargate task, `tacticeye-segmenter live live/{match}.json`, for as long as a live match lasts.
# Build from the repository root: docker build -f infra/segmenter.Dockerfile -t tacticeye-segmenter .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p tacticeye-segmenter

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && pip3 install --break-system-packages --no-cache-dir yt-dlp==2026.10.26
COPY --from=build /src/target/release/tacticeye-segmenter /usr/local/bin/tacticeye-segmenter
ENV TACTICEYE_YTDLP=/usr/local/bin/yt-dlp
USER 1000
ENTRYPOINT ["tacticeye-segmenter"]
