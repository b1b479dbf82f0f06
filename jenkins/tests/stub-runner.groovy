// Runs a declarative Jenkinsfile with stubbed pipeline steps and prints what it did as JSON.
//
// Usage: groovy stub-runner.groovy FIXTURE.json JENKINSFILE [LIBRARY_ROOT]
//
// LIBRARY_ROOT is a shared library checkout (vars/, src/): `@Library('baton') _` in the
// Jenkinsfile loads it, as Jenkins' global library of that name does; each vars/NAME.groovy
// becomes the step NAME (its `call` method) and src/ is on the class path.
//
// FIXTURE.json gives what the outside world answers:
//   {"params": {...build parameters...}, "env": {"BUILD_NUMBER": "42", ...},
//    "checkout": {"GIT_COMMIT": "<sha>"}, "files": {"image.digest": "sha256:..."},
//    "stdout": [{"match": "<regex on the script>", "out": "..."}],
//    "workspace": "/tmp/dir",
//    "exec": {"match": ["<regex>", ...], "env": {"PATH": "..."},
//             "secrets": {"<credentialsId>": "text", "<id>": {"username": "u", "password": "p"}}}}
//
// sh steps whose script matches an "exec" regex really run: `sh -c SCRIPT` in the workspace,
// with the environment the step sees (bound credentials replaced by exec.secrets) plus exec.env;
// a non-zero exit fails the build with Jenkins' message "script returned exit code N". Other sh
// steps are only recorded. writeJSON (Pipeline Utility Steps) writes its file into the workspace;
// readFile reads fixture "files" first, then the workspace.
//
// writeJSON's model and the real shell live in stub-world.groovy (beside this file).
//
// Output (one JSON object on stdout): the declared agent, parameters, environment and options;
// "libraries" loaded; "steps", every step in execution order with its stage, container, bound
// credentials, the environment it saw and, for sh, whether Groovy handed it a GString
// (interpolated) or a plain String, and for an executed one its exit code, stdout and stderr;
// "violations", secret-handling rules broken; "result" SUCCESS or FAILURE with "error".
//
// Credential variables are bound to the marker "<secret:ID>", so any Groovy-side interpolation
// of a secret shows up in the recorded arguments and is reported as a violation.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

class PipelineError extends RuntimeException {
  PipelineError(String m) { super(m) }
}

/** Records any call as name -> args; nested closures become nested maps. Used for agent/options. */
class Recorder {
  Map<String, Object> calls = [:]
  def methodMissing(String name, Object args) {
    Object[] a = args as Object[]
    if (a.length > 0 && a[-1] instanceof Closure) {
      Recorder inner = new Recorder()
      Closure c = (Closure) a[-1]
      c.resolveStrategy = Closure.DELEGATE_FIRST
      c.delegate = inner
      c.call()
      calls[name] = inner.calls
    } else {
      calls[name] = a.collect { it instanceof GString ? it.toString() : it }
      if (calls[name].size() == 1) { calls[name] = calls[name][0] }
    }
    return [(name): calls[name]]
  }
}

class StageSpec {
  String name
  Closure steps
  Map<String, Closure> post = [:]
  void steps(Closure c) { steps = c }
  void post(Closure c) { post = Runner.collectPost(c) }
}

class StagesSpec {
  List<StageSpec> stages = []
  void stage(String name, Closure c) {
    StageSpec s = new StageSpec(name: name)
    Runner.withDelegate(c, s)
    if (s.steps == null) { throw new PipelineError("stage '${name}' has no steps") }
    stages << s
  }
}

class PostSpec {
  Map<String, Closure> blocks = [:]
  def methodMissing(String name, Object args) {
    Object[] a = args as Object[]
    if (!(name in ['always', 'success', 'failure', 'unstable', 'aborted', 'changed', 'fixed',
                   'regression', 'cleanup', 'unsuccessful'])) {
      throw new PipelineError("unknown post condition '${name}'")
    }
    blocks[name] = (Closure) a[0]
  }
}

class PipelineSpec {
  Map agent
  List<Map> parameters = []
  Map<String, Object> environment = [:]
  Map options = [:]
  Map triggers = [:]
  List<StageSpec> stages = []
  Map<String, Closure> post = [:]

  void agent(Closure c) { Recorder r = new Recorder(); Runner.withDelegate(c, r); agent = r.calls }
  void agent(String any) { agent = [(any): true] }
  String getAny() { 'any' }
  String getNone() { 'none' }
  void options(Closure c) { Recorder r = new Recorder(); Runner.withDelegate(c, r); options = r.calls }
  void triggers(Closure c) { Recorder r = new Recorder(); Runner.withDelegate(c, r); triggers = r.calls }
  void parameters(Closure c) { Runner.sinks.push(parameters); try { c.call() } finally { Runner.sinks.pop() } }
  void environment(Closure c) {
    Map<String, Object> m = [:]
    Runner.withDelegate(c, m)
    m.each { k, v -> environment[k] = v.toString() }
  }
  void stages(Closure c) { StagesSpec s = new StagesSpec(); Runner.withDelegate(c, s); stages = s.stages }
  void post(Closure c) { post = Runner.collectPost(c) }
}

class Runner {
  static List<List> sinks = []
  static PipelineSpec spec
  static Map fixture
  static Map<String, String> env = [:]
  static Map<String, Object> params = [:]
  static List<Map> steps = []
  static List<String> violations = []
  static String stage = null
  static List<String> containers = []
  static List<Map> credentialScopes = []
  static File workspace
  static List<String> libraries = []

  /** writeJSON's model and the real shell (stub-world.groovy). */
  static Map world

  static void checkJsonLib(Object v) {
    String problem = world.jsonProblem(v, 'json')
    if (problem) { throw new PipelineError(problem) }
  }

  /** Runs `script` with sh -c in the workspace, as the fixture's "exec" says. */
  static Map execute(String script) {
    Map done = world.execute((Map) fixture.exec, env, credentialScopes, workspace, script)
    if (done.problem) { throw new PipelineError(done.problem) }
    return done
  }

  /** Runs a declarative section against a spec object, then hands name lookup back to the owner
   *  chain, so that steps inside nested blocks reach the step functions at run time. */
  static void withDelegate(Closure c, Object d) {
    c.resolveStrategy = Closure.DELEGATE_FIRST
    c.delegate = d
    try { c.call() } finally {
      c.resolveStrategy = Closure.OWNER_FIRST
      c.delegate = null
    }
  }

  static String defaultContainer() {
    Map k = spec?.agent?.kubernetes instanceof Map ? (Map) spec.agent.kubernetes : [:]
    return k.defaultContainer ?: null
  }

  static Map<String, Closure> collectPost(Closure c) {
    PostSpec p = new PostSpec()
    withDelegate(c, p)
    return p.blocks
  }

  static List<String> secretVariables() {
    credentialScopes.collectMany { it.variables }
  }

  /** Bound variables that hold secrets (all but user names). */
  static List<String> secretValuesInScope() {
    credentialScopes.collectMany { it.secrets }
  }

  static Map record(String step, Map details) {
    Map r = [step: step, stage: stage, container: containers ? containers[-1] : defaultContainer(),
             credentials: secretVariables(), secrets: secretValuesInScope()]
    r.putAll(details)
    steps << r
    // The environment a step sees legitimately holds the bound secrets; its arguments must not.
    String text = JsonOutput.toJson(details.findAll { it.key != 'env' })
    if (text.contains('<secret:')) {
      violations << "step ${step} in stage '${stage}' got a secret value through Groovy: ${text}".toString()
    }
    return r
  }

  static String text(Object o) { o == null ? null : o.toString() }

  static void runSteps(Closure c) {
    c.resolveStrategy = Closure.OWNER_FIRST
    c.call()
  }

  static void runStages() {
    spec.stages.each { StageSpec s ->
      stage = s.name
      record('stage', [name: s.name])
      runSteps(s.steps)
      s.post.findAll { it.key in ['success', 'always'] }.each { k, v -> runSteps(v) }
    }
  }
}

Map<String, Closure> steps = [:]

steps.pipeline = { Closure c ->
  PipelineSpec p = new PipelineSpec()
  Runner.spec = p
  Runner.withDelegate(c, p)
  p.parameters.each { Map d -> Runner.params[d.name] = d.defaultValue }
  (Runner.fixture.params ?: [:]).each { k, v ->
    if (!Runner.params.containsKey(k)) { throw new PipelineError("fixture sets undeclared parameter ${k}") }
    Runner.params[k] = v
  }
  Runner.env.putAll(Runner.fixture.env ?: [:])
  Runner.params.each { k, v -> Runner.env[k] = Runner.text(v) }
  Runner.env.putAll(p.environment)
  try {
    Runner.runStages()
    Runner.stage = null
    p.post.findAll { it.key in ['success', 'always', 'cleanup'] }.each { k, v -> Runner.runSteps(v) }
  } catch (PipelineError e) {
    Runner.stage = null
    p.post.findAll { it.key in ['failure', 'unsuccessful', 'always', 'cleanup'] }.each { k, v -> Runner.runSteps(v) }
    throw e
  }
}

// Parameter declarations (inside parameters {}) and credential bindings share names: string().
def declare = { String kind, Map args ->
  Map d = [kind: kind] + args.collectEntries { k, v -> [(k): Runner.text(v)] }
  if (Runner.sinks) { Runner.sinks[-1] << d }
  return d
}
steps.string = { Map a -> declare('string', a) }
steps.booleanParam = { Map a -> declare('booleanParam', a) }
steps.choice = { Map a -> declare('choice', a) }
steps.text = { Map a -> declare('text', a) }
steps.usernamePassword = { Map a -> declare('usernamePassword', a) }
steps.file = { Map a -> declare('file', a) }
steps.sshUserPrivateKey = { Map a -> declare('sshUserPrivateKey', a) }

steps.script = { Closure c -> Runner.runSteps(c) }
steps.echo = { Object m -> Runner.record('echo', [message: Runner.text(m)]) }
steps.error = { Object m ->
  Runner.record('error', [message: Runner.text(m)])
  throw new PipelineError(Runner.text(m))
}
steps.container = { String name, Closure c ->
  Runner.record('container', [name: name])
  Runner.containers.push(name)
  try { Runner.runSteps(c) } finally { Runner.containers.pop() }
}
steps.withEnv = { List vars, Closure c ->
  Map saved = new LinkedHashMap(Runner.env)
  vars.each { String kv = it.toString(); int i = kv.indexOf('='); Runner.env[kv.substring(0, i)] = kv.substring(i + 1) }
  Runner.record('withEnv', [vars: vars.collect { it.toString() }])
  try { Runner.runSteps(c) } finally { Runner.env.clear(); Runner.env.putAll(saved) }
}
steps.withCredentials = { List bindings, Closure c ->
  List<String> vars = []
  bindings.each { Map b ->
    ['variable', 'usernameVariable', 'passwordVariable', 'keyFileVariable', 'passphraseVariable'].each { k ->
      if (b[k]) { vars << b[k] }
    }
  }
  Runner.record('withCredentials', [bindings: bindings])
  Map saved = new LinkedHashMap(Runner.env)
  bindings.each { Map b ->
    ['variable', 'usernameVariable', 'passwordVariable', 'keyFileVariable', 'passphraseVariable'].each { k ->
      if (b[k]) { Runner.env[b[k]] = "<secret:${b.credentialsId}>".toString() }
    }
  }
  List<String> secrets = []
  bindings.each { Map b ->
    ['variable', 'passwordVariable', 'keyFileVariable', 'passphraseVariable'].each { k ->
      if (b[k]) { secrets << b[k] }
    }
  }
  Runner.credentialScopes.push([credentialsId: bindings*.credentialsId, bindings: bindings, variables: vars, secrets: secrets])
  try { Runner.runSteps(c) } finally {
    Runner.credentialScopes.pop()
    Runner.env.clear()
    Runner.env.putAll(saved)
  }
}
steps.timeout = { Map a, Closure c -> Runner.record('timeout', [args: a.toString()]); Runner.runSteps(c) }
steps.dir = { String d, Closure c -> Runner.record('dir', [path: d]); Runner.runSteps(c) }
steps.scmGit = { Map a -> [kind: 'scmGit'] + a }
steps.checkout = { Map scm ->
  Runner.record('checkout', [scm: JsonOutput.toJson(scm)])
  return Runner.fixture.checkout ?: [:]
}
steps.readFile = { Object path ->
  String p = Runner.text(path instanceof Map ? path.file : path)
  Runner.record('readFile', [file: p])
  if ((Runner.fixture.files ?: [:]).containsKey(p)) { return Runner.fixture.files[p] }
  File f = new File(Runner.workspace, p)
  if (!f.isFile()) { throw new PipelineError("readFile: no such file ${p}") }
  return f.text
}
steps.writeFile = { Map a -> Runner.record('writeFile', [file: Runner.text(a.file), gstring: a.text instanceof GString]) }
steps.writeJSON = { Map a ->
  Collection unknown = a.keySet().findAll { !(it in ['file', 'json', 'pretty', 'returnText']) }
  if (unknown) { throw new PipelineError("writeJSON: unknown argument(s) ${unknown}") }
  if (a.returnText && a.file) { throw new PipelineError('writeJSON: give either file or returnText: true, not both') }
  if (!a.returnText && !a.file) { throw new PipelineError('writeJSON: file is required unless returnText: true') }
  if (!(a.json instanceof Map || a.json instanceof List)) {
    throw new PipelineError("writeJSON: json must be a Map or List (got ${a.json?.getClass()?.name})")
  }
  Runner.checkJsonLib(a.json)
  String text = JsonOutput.toJson(a.json)
  if (a.pretty) { text = JsonOutput.prettyPrint(text) }
  Runner.record('writeJSON', [file: Runner.text(a.file), text: text, returnText: a.returnText == true])
  if (a.returnText) { return text }
  new File(Runner.workspace, Runner.text(a.file)).text = text
  return null
}
steps.sh = { Object arg ->
  Object script = arg instanceof Map ? arg.script : arg
  boolean returnStdout = arg instanceof Map && arg.returnStdout
  boolean inCredentials = !Runner.credentialScopes.isEmpty()
  Map r = Runner.record('sh', [script: Runner.text(script), gstring: script instanceof GString,
                               returnStdout: returnStdout, env: new LinkedHashMap(Runner.env)])
  if (script instanceof GString && inCredentials) {
    Runner.violations << "sh in stage '${Runner.stage}' binds credentials ${Runner.secretVariables()} but its script is a Groovy GString; use a single-quoted string".toString()
  }
  if (inCredentials && (script.toString() =~ /(?m)^\s*set\s+-[a-z]*x/)) {
    Runner.violations << "sh in stage '${Runner.stage}' binds credentials and turns on set -x".toString()
  }
  boolean run = Runner.fixture.exec && (Runner.fixture.exec.match ?: []).any { script.toString() =~ it }
  if (run) {
    Map done = Runner.execute(script.toString())
    r.executed = true
    r.exit = done.exit
    r.stdout = done.stdout
    r.stderr = done.stderr
    if (done.exit != 0) { throw new PipelineError("script returned exit code ${done.exit}") }
    return returnStdout ? done.stdout : null
  }
  if (returnStdout) {
    Map hit = (Runner.fixture.stdout ?: []).find { script.toString() =~ it.match }
    if (hit == null) { throw new PipelineError("sh: fixture has no stdout for: ${script}") }
    return hit.out
  }
  return null
}

if (args.length < 2 || args.length > 3) {
  System.err.println('usage: groovy stub-runner.groovy FIXTURE.json JENKINSFILE [LIBRARY_ROOT]')
  System.exit(2)
}
Runner.fixture = (Map) new JsonSlurper().parse(new File(args[0]))
File here = new File(getClass().protectionDomain.codeSource.location.toURI()).parentFile
Runner.world = (Map) new GroovyShell().evaluate(new File(here, 'stub-world.groovy'))
Runner.workspace = Runner.fixture.workspace ? new File(Runner.fixture.workspace.toString()) : File.createTempDir()
Binding binding = new Binding()
steps.each { k, v -> binding.setVariable(k, v) }
binding.setVariable('env', Runner.env)
binding.setVariable('params', Runner.params)

// `@Library('name') _` compiles against a stand-in annotation; the names are read from the text.
GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader)
Class library = loader.parseClass('''
import java.lang.annotation.*
@Retention(RetentionPolicy.SOURCE)
@interface Library { String[] value() }
''')
ImportCustomizer imports = new ImportCustomizer()
imports.addImport('Library', library.name)
CompilerConfiguration compiler = new CompilerConfiguration()
compiler.addCompilationCustomizers(imports)
String jenkinsfile = new File(args[1]).text
(jenkinsfile =~ /@Library\(\s*['"]([^'"@]+)(@[^'"]*)?['"]\s*\)/).each { Runner.libraries << it[1] }
if (Runner.libraries && args.length < 3) {
  System.err.println("${args[1]} loads libraries ${Runner.libraries}; pass LIBRARY_ROOT")
  System.exit(2)
}
GroovyShell shell = new GroovyShell(loader, binding, compiler)
if (args.length == 3 && Runner.libraries) {
  File root = new File(args[2])
  loader.addClasspath(new File(root, 'src').path)
  new File(root, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name }.each { File f ->
    Script s = shell.parse(f)
    s.binding = binding
    binding.setVariable(f.name - '.groovy', { Object[] a -> s.invokeMethod('call', a) })
  }
}

String result = 'SUCCESS'
String error = null
try {
  shell.evaluate(jenkinsfile, new File(args[1]).name)
  if (Runner.spec == null) { throw new PipelineError('the file declares no pipeline { }') }
} catch (PipelineError e) {
  result = 'FAILURE'
  error = e.message
}
PipelineSpec p = Runner.spec ?: new PipelineSpec()
println JsonOutput.toJson([
  result: result, error: error, libraries: Runner.libraries, agent: p.agent, parameters: p.parameters,
  environment: p.environment, options: p.options, triggers: p.triggers, stages: p.stages*.name,
  steps: Runner.steps, violations: Runner.violations,
])
