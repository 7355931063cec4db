# OPA's own API authorization (opa run --authorization=basic): on this host OPA answers only the
# gateway's decision query and the health check. Everything else (reading data, listing or
# replacing policies with PUT /v1/policies, pushing data, compiling ad-hoc queries) is refused,
# so no local process can swap the policy or read the configuration through the API.
package system.authz

default allow := false

allow if {
	input.method == "POST"
	input.path == ["v1", "data", "sovereign", "mcp", "decision"]
}

allow if {
	input.method == "GET"
	input.path == ["health"]
}
