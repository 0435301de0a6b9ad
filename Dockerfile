# gpm's image, for people who build their own: `docker build -t gpm .`
# The release image (make image) has the same layout and is built without a
# daemon: a static gpm in /usr/local/bin, Debian's CA bundle, a non-root
# user gpm (65532), no shell.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/usr/local/bin/gpm ./cmd/gpm \
 && mkdir -p /out/etc/ssl/certs /out/home/gpm /out/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\ngpm:x:65532:65532:gpm:/home/gpm:/sbin/nologin\n' >/out/etc/passwd \
 && printf 'root:x:0:\ngpm:x:65532:\n' >/out/etc/group \
 && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
COPY --from=build --chown=65532:65532 /out/home/gpm /home/gpm
ENV PATH=/usr/local/bin HOME=/home/gpm SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/gpm
ENTRYPOINT ["/usr/local/bin/gpm"]
CMD ["--help"]
