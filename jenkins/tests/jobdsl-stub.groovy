// Evaluates a Job DSL script with every DSL method recorded instead of executed, and prints the
// call tree as JSON: [{"call": "pipelineJob", "args": ["micro-gw/petstore-image"], "body": [...]}].
// Usage: groovy jobdsl-stub.groovy SCRIPT.groovy
// It checks that the script runs as Groovy and lets a test read what it declares (folders, jobs,
// parameters, triggers, script paths); it does not check the names against the Job DSL API.
import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilerConfiguration

class DslNode {
  String call
  List args = []
  List<DslNode> body = []
  Map toMap() { [call: call, args: args, body: body*.toMap()] }
}

class DslRecorder {
  List<DslNode> nodes = []
  def methodMissing(String name, Object rawArgs) {
    Object[] a = rawArgs as Object[]
    DslNode n = new DslNode(call: name)
    a.each { arg ->
      if (arg instanceof Closure) {
        DslRecorder inner = new DslRecorder()
        Closure c = (Closure) arg
        c.resolveStrategy = Closure.DELEGATE_ONLY
        c.delegate = inner
        c.call()
        n.body.addAll(inner.nodes)
      } else if (arg instanceof GString) {
        n.args << arg.toString()
      } else {
        n.args << arg
      }
    }
    nodes << n
    return null
  }
}

if (args.length != 1) {
  System.err.println('usage: groovy jobdsl-stub.groovy SCRIPT.groovy')
  System.exit(2)
}
DslRecorder top = new DslRecorder()
Script script = new GroovyShell(this.class.classLoader, new Binding(), new CompilerConfiguration())
  .parse(new File(args[0]))
Closure body = { -> script.run() }
script.metaClass.methodMissing = { String name, Object a -> top.methodMissing(name, a) }
body.call()
println JsonOutput.toJson(top.nodes*.toMap())
