// Parses Groovy sources the way Jenkins core's Groovy (2.4.21) does, up to the CONVERSION phase
// (syntax and AST building; no class resolution, so pipeline steps need not exist).
// Usage: groovy parse.groovy FILE...   Prints "ok FILE" per file; exits 1 on the first failure
// with the compiler's message (file, line, column).
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases

if (args.length == 0) {
  System.err.println('usage: groovy parse.groovy FILE...')
  System.exit(2)
}
println "groovy ${GroovySystem.version}"
int failed = 0
args.each { String path ->
  File f = new File(path)
  if (!f.isFile()) {
    System.err.println("error ${path}: no such file")
    failed++
    return
  }
  CompilationUnit unit = new CompilationUnit(new CompilerConfiguration())
  unit.addSource(f)
  try {
    unit.compile(Phases.CONVERSION)
    println "ok ${path}"
  } catch (MultipleCompilationErrorsException e) {
    System.err.println("error ${path}: ${e.message}")
    failed++
  }
}
System.exit(failed == 0 ? 0 : 1)
