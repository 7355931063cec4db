# OPA's own API authorization (opa run --authorization=basic): on this host OPA answers only the
# gateway's two queries (the decision of a call, the tools a client may see) and the health check. Everything else (reading data, listing or
# replacing policies with PUT /v1/policies, pushing data, compiling ad-hoc queries) is refused,
# so no local process can swap the policy or read the configuration through the API.
package system.authz

default allow := false

allow if {
	input.method == "POST"
	input.path in [["v1", "data", "sovereign", "mcp", "decision"], ["v1", "data", "sovereign", "mcp", "visible_tools"]]
}

allow if {
	input.method == "GET"
	input.path == ["health"]
}
