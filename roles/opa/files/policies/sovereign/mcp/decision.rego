# The default policy of sovereign.stack's MCP gateway: one decision per tools/call.
#
# The gateway POSTs {"input": INPUT} to /v1/data/sovereign/mcp/decision and executes the call
# only when the answer's result.allow is exactly true. INPUT carries client, server, tool,
# arguments, paths (every path argument, normalised by the gateway) and path_errors.
#
# A call is allowed only when every one of these holds:
#   - the client is configured, the server is configured for it, and the tool is listed for that
#     client and server by name; "*" allows every tool of that server except shell-like ones;
#   - the gateway normalised every path argument (path_errors is empty);
#   - every path is a clean absolute path (no "." or ".." segment, no "//", "%", backslash or NUL:
#     a gateway that forwards raw paths still cannot smuggle "/srv/workspace/../etc/shadow"),
#     equal to a workspace root or below one ("/srv/workspace-evil" is not below "/srv/workspace");
#   - destructive tools name at least one path, all inside a root and none a root itself.
# Policies added beside this one can add reasons to `deny` (each one denies the call).
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
	]
	found
}

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

tool_listed if {
	some name in server_tools
	name != "*"
	name == input.tool
}

tool_listed if {
	"*" in server_tools
	not is_shell_tool
}

paths := input.paths if is_array(input.paths)

deny contains sprintf("input.%s is missing or not a non-empty string", [field]) if {
	some field in ["client", "server", "tool"]
	not non_empty_string(object.get(input, field, null))
}

# Helper rules rather than `not is_array(input.x)`: OPA evaluates an undefined reference outside the
# negation, so the negated call would never run for a missing field.
paths_is_list if is_array(input.paths)

path_errors_is_list if is_array(input.path_errors)

server_configured if is_array(server_tools)

deny contains "input.paths is missing or not a list" if not paths_is_list

deny contains "input.path_errors is missing or not a list" if not path_errors_is_list

deny contains sprintf("client %s is not configured", [input.client]) if {
	non_empty_string(input.client)
	not clients[input.client]
}

deny contains sprintf("server %s is not configured for client %s", [input.server, input.client]) if {
	clients[input.client]
	non_empty_string(input.server)
	not server_configured
}

deny contains sprintf("tool %s not allowed for client %s on server %s", [input.tool, input.client, input.server]) if {
	server_configured
	non_empty_string(input.tool)
	not tool_listed
	not shell_tool_behind_wildcard
}

shell_tool_behind_wildcard if {
	"*" in server_tools
	is_shell_tool
	not input.tool in server_tools
}

deny contains sprintf(
	"tool %s is shell-like and \"*\" does not allow it: list it by name for client %s on server %s",
	[input.tool, input.client, input.server],
) if {
	shell_tool_behind_wildcard
}

deny contains sprintf("the gateway could not normalise every path: %s", [concat("; ", [sprintf("%v", [e]) | some e in input.path_errors])]) if {
	path_errors_is_list
	count(input.path_errors) > 0
}

deny contains sprintf("path %v is not a string", [path]) if {
	some path in paths
	not is_string(path)
}

deny contains sprintf("path %q %s", [path, defect]) if {
	some path in paths
	is_string(path)
	some defect in path_defects(path)
}

deny contains sprintf("path %q is outside the workspace roots %v", [path, sort(roots)]) if {
	some path in paths
	is_string(path)
	not inside_workspace(path)
}

deny contains sprintf("destructive tool %s needs a path inside a workspace root", [input.tool]) if {
	is_destructive_tool
	count(paths) == 0
}

deny contains sprintf("destructive tool %s may not target the workspace root %q itself", [input.tool, path]) if {
	is_destructive_tool
	some path in paths
	is_string(path)
	is_workspace_root(path)
}

non_empty_string(value) if {
	is_string(value)
	value != ""
}

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

decision := {"allow": allow, "reasons": reasons}
