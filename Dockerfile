# nomosauth as one static binary (SQLite is pure Go: no cgo) on a
# distroless base that runs as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/nomosauth ./cmd/nomosauth

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nomosauth /usr/local/bin/nomosauth
# Without NOMOSAUTH_DB the SQLite file lands in the user's writable home.
WORKDIR /home/nonroot
# Listen on every interface inside the container; TLS ends at the proxy.
ENV NOMOSAUTH_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/usr/local/bin/nomosauth"]
CMD ["serve"]
