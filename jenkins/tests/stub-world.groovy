// The parts of the outside world that stub-runner.groovy models beyond recording: writeJSON's
// conversion (Pipeline Utility Steps converts through json-lib) and running a shell step for
// real. Evaluated once by the runner; returns closures that report problems as strings, which
// the runner turns into build failures.
//
//   jsonProblem(value, path)  what json-lib would convert differently from plain JSON (a String
//                             that looks like JSON or is "null", a GString, a non-JSON type),
//                             or null when the value is written as JsonOutput writes it
//   execute(exec, env, credentialScopes, workspace, script)
//                             `sh -c script` in the workspace with `env`, bound credentials set
//                             from exec.secrets (a string, or {"username", "password"}) and
//                             exec.env on top; [exit, stdout, stderr] or [problem]

def jsonProblem
jsonProblem = { Object v, String path ->
  if (v instanceof Map) {
    for (Map.Entry entry : ((Map) v).entrySet()) {
      if (!(entry.key instanceof String)) { return "writeJSON: key ${entry.key} at ${path} is not a String".toString() }
      String inner = jsonProblem(entry.value, "${path}.${entry.key}".toString())
      if (inner) { return inner }
    }
  } else if (v instanceof List) {
    for (int i = 0; i < ((List) v).size(); i++) {
      String inner = jsonProblem(((List) v)[i], "${path}[${i}]".toString())
      if (inner) { return inner }
    }
  } else if (v instanceof GString) {
    return "writeJSON: ${path} is a GString; json-lib converts it unlike a String: call toString()".toString()
  } else if (v instanceof String) {
    String t = ((String) v).trim()
    if (t.startsWith('{') || t.startsWith('[') || t == 'null') {
      return "writeJSON: ${path} = '${v}' would be parsed as JSON by json-lib".toString()
    }
  } else if (!(v == null || v instanceof Boolean || v instanceof Number)) {
    return "writeJSON: ${path} is a ${v.getClass().name}, not a JSON value".toString()
  }
  return null
}

def execute = { Map exec, Map env, List<Map> credentialScopes, File workspace, String script ->
  Map<String, String> e = [:]
  env.each { k, v -> e[k] = v == null ? '' : v.toString() }
  for (Map scope : credentialScopes) {
    for (Map b : scope.bindings) {
      if (!(exec.secrets ?: [:]).containsKey(b.credentialsId)) {
        return [problem: "fixture exec has no secret for credential ${b.credentialsId}".toString()]
      }
      def secret = exec.secrets[b.credentialsId]
      ['variable', 'usernameVariable', 'passwordVariable'].each { kind ->
        if (b[kind]) {
          def value = secret instanceof Map ? (kind == 'usernameVariable' ? secret.username : secret.password) : secret
          e[b[kind].toString()] = value.toString()
        }
      }
    }
  }
  (exec.env ?: [:]).each { k, v -> e[k] = v.toString() }
  ProcessBuilder pb = new ProcessBuilder(['sh', '-c', script]).directory(workspace)
  pb.environment().clear()
  pb.environment().putAll(e)
  Process p = pb.start()
  p.outputStream.close()
  StringBuilder out = new StringBuilder()
  StringBuilder err = new StringBuilder()
  p.consumeProcessOutput(out, err)
  p.waitForOrKill(300000)
  p.waitForProcessOutput()
  return [exit: p.exitValue(), stdout: out.toString(), stderr: err.toString()]
}

return [jsonProblem: jsonProblem, execute: execute]
