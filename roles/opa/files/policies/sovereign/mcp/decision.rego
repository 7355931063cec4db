# The default policy of sovereign.stack's MCP gateway: one decision per tools/call, and the list of
# tools a client may see.
#
# The gateway POSTs {"input": INPUT} to /v1/data/sovereign/mcp/decision and executes the call
# only when the answer's result.allow is exactly true. INPUT carries client, server, tool,
# arguments, paths (every path argument, resolved by the gateway: the file the call touches),
# path_errors and path_arguments (the path arguments the tool's input schema declares; optional,
# so inputs written before it existed keep their meaning, but a list when present).
#
# A call is allowed only when every one of these holds:
#   - the client is configured, the server is configured for it, and the tool is listed for that
#     client and server by name; "*" allows every tool of that server except shell-like ones;
#   - the gateway normalised every path argument (path_errors is empty);
#   - a tool that takes a path (path_arguments not empty) names at least one;
#   - every path is a clean absolute path (no "." or ".." segment, no "//", "%", backslash, NUL,
#     control character or lookalike of "/" or ".": a gateway that forwards raw paths still cannot
#     smuggle "/srv/workspace/../etc/shadow"), equal to a workspace root or below one
#     ("/srv/workspace-evil" is not below "/srv/workspace");
#   - destructive tools name at least one path, all inside a root and none a root itself.
#
# The answer is {"allow", "reasons", "refusals"}: reasons say in full why (the gateway's audit log
# keeps them), refusals name each rule that denied in words the client may read (never a path or
# the workspace roots). Policies added beside this one can add reasons to `deny` (each one denies
# the call; the client then reads the site_policy refusal) or objects to `violations` with their
# own rule, public and detail texts.
#
# /v1/data/sovereign/mcp/visible_tools answers tools/list: INPUT is {"client", "tools": [{"server",
# "tool"}, ...]}, the result the entries this client's listing allows (the same rules as a call's).
package sovereign.mcp

default config := {}

config := data.sovereign.mcp_config if is_object(data.sovereign.mcp_config)

clients := object.get(config, "clients", {})

# The built-in lists are always in force; the configured lists add to them, so a configuration
# that forgets them cannot open shell access through a "*".
builtin_shell_tools := {"run_command", "execute", "exec", "shell", "bash", "sh", "run_shell", "terminal"}

builtin_destructive_tools := {"delete_file", "move_file", "remove", "rename"}

shell_tools := builtin_shell_tools | {lower(name) | some name in object.get(config, "shell_tools", []); is_string(name)}

destructive_tools := builtin_destructive_tools | {lower(name) |
	some name in object.get(config, "destructive_tools", [])
	is_string(name)
}

# Workspace roots without their trailing "/"; a root that is not a clean absolute path is ignored.
roots := {trim_right(root, "/") |
	some root in object.get(config, "workspace_roots", [])
	is_string(root)
	count(path_defects(root)) == 0
}

# Why a path is not a clean absolute path (empty when it is one).
path_defects(path) := {defect |
	some [defect, found] in [
		["is not absolute", not_absolute(path)],
		["contains a '.' or '..' segment", dot_segment(path)],
		["contains '//'", contains(path, "//")],
		["contains '%'", contains(path, "%")],
		["contains a backslash", contains(path, "\\")],
		["contains a NUL byte", contains(path, "\u0000")],
		["contains a control or format character", regex.match(control_characters, path)],
		["contains a lookalike of '/' or '.'", regex.match(lookalike_characters, path)],
	]
	found
}

# C0, DEL, C1, zero-width and bidi controls, line and paragraph separators, the byte order mark.
control_characters := `[\x00-\x1f\x7f-\x9f\x{200b}-\x{200f}\x{2028}-\x{202e}\x{2066}-\x{2069}\x{feff}]`

# Dot leaders, ellipsis, fraction and division slashes, solidus overlays, fullwidth and small forms.
lookalike_characters := `[\x{0337}\x{0338}\x{2024}-\x{2026}\x{2044}\x{2215}\x{2216}\x{2571}\x{2572}\x{29f5}\x{29f8}\x{29f9}\x{3002}\x{fe52}\x{fe68}\x{ff0e}\x{ff0f}\x{ff3c}\x{ff61}]`

not_absolute(path) if not startswith(path, "/")

default not_absolute(_) := false

dot_segment(path) if {
	some segment in split(path, "/")
	segment in {".", ".."}
}

default dot_segment(_) := false

inside_workspace(path) if {
	some root in roots
	path == root
}

inside_workspace(path) if {
	some root in roots
	startswith(path, concat("", [root, "/"]))
}

is_workspace_root(path) if {
	some root in roots
	trim_right(path, "/") == root
}

is_shell_tool if lower(input.tool) in shell_tools

is_destructive_tool if lower(input.tool) in destructive_tools

server_tools := clients[input.client].servers[input.server]

# Whether a tool is listed for a client on a server: by name, or by "*" unless it is shell-like.
listed_for(client, server, tool) if {
	some name in clients[client].servers[server]
	name != "*"
	name == tool
}

listed_for(client, server, tool) if {
	"*" in clients[client].servers[server]
	not lower(tool) in shell_tools
}

tool_listed if listed_for(input.client, input.server, input.tool)

paths := input.paths if is_array(input.paths)

# Helper rules rather than `not is_array(input.x)`: OPA evaluates an undefined reference outside the
# negation, so the negated call would never run for a missing field.
paths_is_list if is_array(input.paths)

path_errors_is_list if is_array(input.path_errors)

path_arguments := input.path_arguments if is_array(input.path_arguments)

default path_arguments := []

path_arguments_malformed if {
	"path_arguments" in object.keys(input)
	not is_array(input.path_arguments)
}

server_configured if is_array(server_tools)

shell_tool_behind_wildcard if {
	"*" in server_tools
	is_shell_tool
	not input.tool in server_tools
}

non_empty_string(value) if {
	is_string(value)
	value != ""
}

# One object per reason to deny: rule (a stable name), public (what the client reads: the rule
# and no path or root) and detail (the full reason).
violations contains {"rule": "input_invalid", "public": message, "detail": message} if {
	some field in ["client", "server", "tool"]
	not non_empty_string(object.get(input, field, null))
	message := sprintf("input.%s is missing or not a non-empty string", [field])
}

violations contains violation("input_invalid", "input.paths is missing or not a list") if not paths_is_list

violations contains violation("input_invalid", "input.path_errors is missing or not a list") if not path_errors_is_list

violations contains violation("input_invalid", "input.path_arguments is not a list") if path_arguments_malformed

violations contains violation("client_not_configured", sprintf("client %s is not configured", [input.client])) if {
	non_empty_string(input.client)
	not clients[input.client]
}

violations contains violation(
	"server_not_configured",
	sprintf("server %s is not configured for client %s", [input.server, input.client]),
) if {
	clients[input.client]
	non_empty_string(input.server)
	not server_configured
}

violations contains violation(
	"tool_not_allowed",
	sprintf("tool %s not allowed for client %s on server %s", [input.tool, input.client, input.server]),
) if {
	server_configured
	non_empty_string(input.tool)
	not tool_listed
	not shell_tool_behind_wildcard
}

violations contains violation("shell_tool_behind_wildcard", sprintf(
	"tool %s is shell-like and \"*\" does not allow it: list it by name for client %s on server %s",
	[input.tool, input.client, input.server],
)) if {
	shell_tool_behind_wildcard
}

violations contains {
	"rule": "path_errors",
	"public": "path_errors: the gateway could not normalise every path",
	"detail": sprintf("the gateway could not normalise every path: %s", [concat("; ", [sprintf("%v", [e]) | some e in input.path_errors])]),
} if {
	path_errors_is_list
	count(input.path_errors) > 0
}

violations contains violation("path_missing", sprintf(
	"tool %s takes a path (%s) and the call names none",
	[input.tool, concat(", ", [sprintf("%v", [name]) | some name in path_arguments])],
)) if {
	count(path_arguments) > 0
	paths_is_list
	count(paths) == 0
}

violations contains {
	"rule": "path_not_string",
	"public": "path_not_string: a path is not a string",
	"detail": sprintf("path %v is not a string", [path]),
} if {
	some path in paths
	not is_string(path)
}

violations contains {
	"rule": "path_not_clean",
	"public": sprintf("path_not_clean: a path %s", [defect]),
	"detail": sprintf("path %q %s", [path, defect]),
} if {
	some path in paths
	is_string(path)
	some defect in path_defects(path)
}

violations contains {
	"rule": "path_outside_workspace",
	"public": "path_outside_workspace: a path is outside the workspace roots",
	"detail": sprintf("path %q is outside the workspace roots %v", [path, sort(roots)]),
} if {
	some path in paths
	is_string(path)
	not inside_workspace(path)
}

violations contains violation(
	"destructive_without_path",
	sprintf("destructive tool %s needs a path inside a workspace root", [input.tool]),
) if {
	is_destructive_tool
	count(paths) == 0
}

violations contains {
	"rule": "destructive_on_root",
	"public": sprintf("destructive_on_root: destructive tool %s may not target a workspace root itself", [input.tool]),
	"detail": sprintf("destructive tool %s may not target the workspace root %q itself", [input.tool, path]),
} if {
	is_destructive_tool
	some path in paths
	is_string(path)
	is_workspace_root(path)
}

# A violation whose text holds nothing but the rule's own words and the call's client, server
# and tool (which the client sent itself): the client may read it whole.
violation(rule, message) := {"rule": rule, "public": sprintf("%s: %s", [rule, message]), "detail": message}

violation_details := {v.detail | some v in violations}

deny contains v.detail if some v in violations

site_refusal := "site_policy: a policy rule of this site denies the call (the audit log has its reason)"

refusals := sort({v.public | some v in violations} | {site_refusal | some reason in deny; not reason in violation_details})

default allow := false

allow if {
	tool_listed
	paths_is_list
	path_errors_is_list
	count(deny) == 0
}

reasons := sort(deny) if {
	count(deny) > 0
} else := [sprintf("tool %s allowed for client %s on server %s", [input.tool, input.client, input.server])] if {
	allow
} else := ["no rule allows this call"]

decision := {"allow": true, "reasons": reasons, "refusals": []} if {
	allow
} else := {"allow": false, "reasons": reasons, "refusals": refusals} if {
	count(refusals) > 0
} else := {"allow": false, "reasons": reasons, "refusals": ["no_rule: no rule allows this call"]}

# tools/list: the entries of input.tools this client may call at all (path rules apply per call).
visible_tools := [entry |
	some entry in input.tools
	is_object(entry)
	non_empty_string(entry.server)
	non_empty_string(entry.tool)
	listed_for(input.client, entry.server, entry.tool)
]
