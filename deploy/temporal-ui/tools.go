//go:build tools

// Package tools pins the Temporal Web UI server as a dependency of this module, so that
// `go build github.com/temporalio/ui-server/v2/cmd/server` builds it from the versions in go.sum.
package tools

import _ "github.com/temporalio/ui-server/v2/cmd/server"
