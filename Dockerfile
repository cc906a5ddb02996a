# syntax=docker/dockerfile:1

# Build a static binary.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/rolegate ./cmd/rolegate \
 && mkdir -p /out/data

# Run it as a non-root user on a base with nothing else in it.
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/rolegate /usr/local/bin/rolegate
COPY policy/model.conf policy/policy.csv policy/policy_test.csv policy/routes.csv /app/policy/
COPY --from=build --chown=65532:65532 /out/data /data
ENV ROLEGATE_ADDR=:8080 \
    ROLEGATE_DATABASE_URL=sqlite:/data/rolegate.db \
    ROLEGATE_JWT_KEY_FILE=/data/jwt-keys.json \
    ROLEGATE_POLICY_MODEL=/app/policy/model.conf \
    ROLEGATE_POLICY_FILE=/app/policy/policy.csv \
    ROLEGATE_POLICY_TESTS=/app/policy/policy_test.csv \
    ROLEGATE_POLICY_ROUTES=/app/policy/routes.csv
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/rolegate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/rolegate"]
CMD ["serve"]
