#!/usr/bin/env bash
# The whole user journey on the cluster the current kube context points to: the image (built and
# loaded into kind when the context is kind-*), helm install with values-kind.yaml, helm test, an
# upload through a port-forward with the API key from its Secret, the optimizer chaos script, and a
# QueueScaler scale-up and scale-down with the worker pod count read from the API. Prints a ledger;
# exits 1 when a step failed. Without a cluster that answers (or without kubectl or helm) it prints
# "SKIP: …" and exits 0, so it can sit in any test run.
#
#   bash k8s/e2e.sh                      (kind create cluster --config k8s/kind-config.yaml first)
#
# Environment: NAMESPACE (nws-watermark), RELEASE (nws-watermark: the chart's objects are then named
# nws-watermark-*, which the chaos script expects), IMAGE (nws-watermark:e2e; on a cluster that is not
# kind, an image the nodes can pull), BUILD (1: docker build IMAGE on kind; 0: use the local one),
# VALUES (values-kind.yaml on kind, values-dev.yaml elsewhere: no StorageClass needed), STEPS (image
# install test upload chaos scale: the steps to run, in that order), KUBECTL, HELM, KIND, DOCKER (the
# commands), HELM_TIMEOUT (10m), SCALE_TIMEOUT_SECONDS (scale-up wait; default 180).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$REPO/charts/nws-watermark"
NS="${NAMESPACE:-nws-watermark}"
RELEASE="${RELEASE:-nws-watermark}"
IMAGE="${IMAGE:-nws-watermark:e2e}"
BUILD="${BUILD:-1}"
STEPS="${STEPS:-image install test upload chaos scale}"
KUBECTL="${KUBECTL:-kubectl}"
HELM="${HELM:-helm}"
KIND="${KIND:-kind}"
DOCKER="${DOCKER:-docker}"
HELM_TIMEOUT="${HELM_TIMEOUT:-10m}"
SCALE_TIMEOUT_SECONDS="${SCALE_TIMEOUT_SECONDS:-180}"

LEDGER=()
FAILED=0
PIDS=()
WORK="$(mktemp -d)"
OPTIMIZER_REPLICAS=""
KEY=""
API_PORT=""
FORWARDED_PORT=""

say() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
record() { LEDGER+=("$(printf '%-6s %-8s %s' "$1" "$2" "$3")"); [ "$1" = FAIL ] && FAILED=1; return 0; }
k() { "$KUBECTL" --namespace "$NS" "$@"; }
wants() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

print_ledger() {
  printf '\nLedger (%s, context %s, release %s in %s)\n' "$(date -u +%FT%TZ)" "${CONTEXT:-?}" "$RELEASE" "$NS"
  printf '%-6s %-8s %s\n' result step detail
  printf '%s\n' "${LEDGER[@]}"
}

# shellcheck disable=SC2317 # run by the trap
cleanup() {
  # The optimizer back to its replicas if the scaling step was interrupted while it held it at zero.
  if [ -n "$OPTIMIZER_REPLICAS" ]; then k scale deployment "$RELEASE-optimizer" --replicas="$OPTIMIZER_REPLICAS" >/dev/null 2>&1; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# SKIP: why, and what to do (default: make a cluster).
skip() {
  echo "SKIP: $1"
  echo "      ${2:-Create a cluster with \`kind create cluster --config k8s/kind-config.yaml\` (README, \"Kubernetes\")}, then run bash k8s/e2e.sh again."
  exit 0
}

# --- preflight: a cluster that answers, and the tools -------------------------------------------
command -v "$KUBECTL" >/dev/null 2>&1 || skip "kubectl is not installed (looked for \"$KUBECTL\")." "Install kubectl (or set KUBECTL)"
command -v "$HELM" >/dev/null 2>&1 || skip "helm is not installed (looked for \"$HELM\"): Helm 3.8+ or 4." "Install helm (or set HELM)"
if ! out="$("$KUBECTL" cluster-info --request-timeout=5s 2>&1)"; then
  skip "no Kubernetes cluster answers ($(printf '%s' "$out" | grep -v '^$' | tail -n 1))."
fi
CONTEXT="$("$KUBECTL" config current-context 2>/dev/null || echo '?')"
KIND_CLUSTER=""
case "$CONTEXT" in kind-*) KIND_CLUSTER="${CONTEXT#kind-}" ;; esac
VALUES="${VALUES:-$([ -n "$KIND_CLUSTER" ] && echo values-kind.yaml || echo values-dev.yaml)}"
say "context $CONTEXT${KIND_CLUSTER:+ (kind cluster $KIND_CLUSTER)}; values $VALUES; image $IMAGE; steps: $STEPS"

# --- image ----------------------------------------------------------------------------------------
if wants image; then
  if [ -n "$KIND_CLUSTER" ]; then
    built=""
    if [ "$BUILD" = 1 ]; then
      say "docker build -t $IMAGE"
      if "$DOCKER" build -t "$IMAGE" "$REPO" >"$WORK/build.log" 2>&1; then built=" (built)"; else
        record FAIL image "docker build failed: $(tail -n 3 "$WORK/build.log" | tr '\n' ' ')"
      fi
    fi
    if [ "$FAILED" = 0 ]; then
      say "kind load docker-image $IMAGE --name $KIND_CLUSTER"
      if "$KIND" load docker-image "$IMAGE" --name "$KIND_CLUSTER" >"$WORK/load.log" 2>&1; then
        record PASS image "$IMAGE$built loaded into kind cluster $KIND_CLUSTER"
      else
        record FAIL image "kind load failed: $(tail -n 3 "$WORK/load.log" | tr '\n' ' ')"
      fi
    fi
  else
    # Not kind: nothing to load; the nodes pull IMAGE themselves.
    record INFO image "context $CONTEXT is not kind: the nodes must be able to pull $IMAGE"
  fi
fi

# --- helm install and helm test -------------------------------------------------------------------
if wants install && [ "$FAILED" = 0 ]; then
  say "helm upgrade --install $RELEASE -f $VALUES --wait --timeout $HELM_TIMEOUT"
  if "$HELM" upgrade --install "$RELEASE" "$CHART" --namespace "$NS" --create-namespace \
    -f "$CHART/$VALUES" --set "image.repository=${IMAGE%:*}" --set "image.tag=${IMAGE##*:}" \
    --wait --timeout "$HELM_TIMEOUT" >"$WORK/install.log" 2>&1; then
    record PASS install "helm install with $VALUES: every pod ready, bucket hook done"
  else
    # helm says only "context deadline exceeded"; the bucket hook, when it ran, names the cause.
    cause="$(k logs -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=bucket-hook" --tail=20 2>/dev/null | grep 'gave up after' | tail -n 1)"
    record FAIL install "$(grep -v '^$' "$WORK/install.log" | tail -n 2 | tr '\n' ' ')${cause:+— bucket hook: $cause}"
    k get pods,pvc -o wide 2>&1 | sed 's/^/    /'
  fi
fi
if wants test && [ "$FAILED" = 0 ]; then
  if "$HELM" test "$RELEASE" --namespace "$NS" --logs >"$WORK/test.log" 2>&1; then
    record PASS test "helm test: $(grep -c 'Phase:.*Succeeded' "$WORK/test.log") test pod(s) succeeded"
  else
    record FAIL test "$(grep -v '^$' "$WORK/test.log" | tail -n 3 | tr '\n' ' ')"
  fi
fi

# --- helpers for the steps that talk to the api ---------------------------------------------------
# kubectl port-forward to a free local port, kept until exit; sets FORWARDED_PORT. Not run in
# $(...): the pid must reach PIDS in this shell for cleanup to stop it.
port_forward() {
  local log="$WORK/pf-${1//\//-}.log" port
  # kubectl itself in the background (not the k function's subshell), so its pid is the one to kill.
  "$KUBECTL" --namespace "$NS" port-forward "$1" ":$2" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 50); do
    port="$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)"
    [ -n "$port" ] && { FORWARDED_PORT="$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "port-forward $1 did not start: $(cat "$log")" >&2
  return 1
}

# The key the chart generated (NOTES.txt shows the same command); empty when the api is open.
api_key() { k get secret "$RELEASE-api-keys" -o jsonpath='{.data.api-key}' 2>/dev/null | base64 -d 2>/dev/null; }

# N PNGs of random noise under $WORK/img-<tag>-*: new bytes on every run, so no upload is a cache
# hit of an earlier run (a hit answers 200 and would queue nothing).
make_images() {
  (cd "$REPO" && node --input-type=module -e "
    import sharp from 'sharp';
    const [n, dir, tag] = process.argv.slice(1);
    for (let i = 0; i < Number(n); i += 1) {
      const noise = { type: 'gaussian', mean: 128, sigma: 40 };
      await sharp({ create: { width: 160, height: 120, channels: 3, noise } }).png().toFile(dir + '/img-' + tag + '-' + i + '.png');
    }" "$1" "$WORK" "$2")
}

# POST one file to /upload: prints the HTTP status; the body goes to $WORK/answer.
upload() {
  local auth=()
  [ -n "$KEY" ] && auth=(-H "Authorization: Bearer $KEY")
  curl -sS -o "$WORK/answer" -w '%{http_code}' "${auth[@]}" -F "image=@$1;type=image/png" "http://127.0.0.1:$API_PORT/upload"
}

# Worker pods running and not on their way out, as the API lists them.
worker_pods() {
  k get pods -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=worker" \
    --field-selector=status.phase=Running \
    -o go-template='{{range .items}}{{if not .metadata.deletionTimestamp}}{{.metadata.name}}{{"\n"}}{{end}}{{end}}' 2>/dev/null | grep -c .
}
# shellcheck disable=SC2317 # run by wait_for
workers_above() { [ "$(worker_pods)" -gt "$1" ]; }
# shellcheck disable=SC2317 # run by wait_for
workers_at() { [ "$(worker_pods)" -eq "$1" ]; }

# Wait up to $1 seconds until the command after it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 2
  done
}

if [ "$FAILED" = 0 ] && { wants upload || wants chaos || wants scale; }; then
  KEY="$(api_key)"
fi
if [ "$FAILED" = 0 ] && { wants upload || wants scale; }; then
  if port_forward "svc/$RELEASE-api" 3000; then API_PORT="$FORWARDED_PORT"; else
    record FAIL upload "could not port-forward svc/$RELEASE-api: $(tail -n 1 "$WORK/pf-svc-$RELEASE-api.log")"
  fi
fi

# --- an upload ------------------------------------------------------------------------------------
if wants upload && [ "$FAILED" = 0 ]; then
  make_images 1 one
  status="$(upload "$WORK/img-one-0.png")"
  if [ "$status" = 200 ]; then
    record PASS upload "200, $(stat -c %s "$WORK/answer") bytes watermarked, key from Secret $RELEASE-api-keys"
  elif [ "$status" = 202 ]; then
    record PASS upload "202: queued (the optimizer was busy); followed by the scaling step's drain"
  else
    record FAIL upload "HTTP $status: $(head -c 300 "$WORK/answer")"
  fi
fi

# --- the optimizer chaos script -------------------------------------------------------------------
if wants chaos && [ "$FAILED" = 0 ]; then
  say "node k8s/chaos/optimizer-chaos.mjs"
  # API_KEY only when there is one: an empty one would mean "no key" to the script.
  if env NAMESPACE="$NS" RELEASE="$RELEASE" ${KEY:+API_KEY="$KEY"} node "$REPO/k8s/chaos/optimizer-chaos.mjs" 2>&1 | tee "$WORK/chaos.log" | sed 's/^/    /'; then
    if grep -q '^SKIP:' "$WORK/chaos.log"; then record SKIP chaos "$(grep '^SKIP:' "$WORK/chaos.log")"; else
      record PASS chaos "$(grep -o 'uploads answered: .*' "$WORK/chaos.log" | head -n 1); $(grep -o 'workers: .*' "$WORK/chaos.log" | head -n 1)"
    fi
  else
    record FAIL chaos "$(grep -A3 '^FAILED' "$WORK/chaos.log" | tr '\n' ' ')"
  fi
fi

# --- QueueScaler: scale up on a backlog, back down once it drains ---------------------------------
# The backlog is real: with the optimizer at zero the api answers 202 and the workers hold their
# consumption, so the jobs wait in watermark_retry until the optimizer comes back.
if wants scale && [ "$FAILED" = 0 ]; then
  scaler="$RELEASE-worker"
  min="$(k get queuescaler "$scaler" -o jsonpath='{.spec.minReplicas}')"
  per="$(k get queuescaler "$scaler" -o jsonpath='{.spec.messagesPerReplica}')"
  stabilization="$(k get queuescaler "$scaler" -o jsonpath='{.spec.scaleDownStabilizationSeconds}')"
  backlog=$((per * (min > 0 ? min : 1) + 1))
  before="$(worker_pods)"
  OPTIMIZER_REPLICAS="$(k get deployment "$RELEASE-optimizer" -o jsonpath='{.spec.replicas}')"
  say "optimizer to 0, $backlog uploads (messagesPerReplica $per, minReplicas $min, $before worker pod(s))"
  k scale deployment "$RELEASE-optimizer" --replicas=0 >/dev/null
  k wait --for=delete pod -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=optimizer" --timeout=120s >/dev/null 2>&1
  make_images "$backlog" backlog
  queued=0
  for f in "$WORK"/img-backlog-*.png; do [ "$(upload "$f")" = 202 ] && queued=$((queued + 1)); done
  if wait_for "$SCALE_TIMEOUT_SECONDS" workers_above "$min"; then
    record PASS scale-up "$queued uploads queued: worker pods $before -> $(worker_pods) ($(k get queuescaler "$scaler" -o jsonpath='{.status.queueDepth}') deep)"
  else
    record FAIL scale-up "$queued uploads queued, worker pods still $(worker_pods) after ${SCALE_TIMEOUT_SECONDS}s: $(k get queuescaler "$scaler" -o jsonpath='{.status.conditions[*].message}')"
  fi
  say "optimizer back to $OPTIMIZER_REPLICAS; waiting for the queue to drain and the workers to scale down"
  k scale deployment "$RELEASE-optimizer" --replicas="$OPTIMIZER_REPLICAS" >/dev/null && OPTIMIZER_REPLICAS=""
  down_timeout=$((stabilization + SCALE_TIMEOUT_SECONDS))
  if wait_for "$down_timeout" workers_at "$min"; then
    record PASS scale-down "queue drained: worker pods back to $(worker_pods) (minReplicas $min)"
  else
    record FAIL scale-down "worker pods $(worker_pods), not $min, after ${down_timeout}s"
  fi
fi

print_ledger
exit "$FAILED"
