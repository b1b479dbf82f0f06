// Settings of baton's library steps: the map a job passes to batonImageBuild, batonChartSync or
// batonVerify, checked once so that a typo fails the build with a message naming the step, the
// setting and the fix, instead of a step running with an empty value.
//
// Plain loops, no closures: the methods run under Pipeline's CPS interpreter without @NonCPS.
package io.baton

class Settings implements Serializable {
  /** A message when `given` misses a required key, has an unknown one, or has a non-string
   *  value; null when it is fine. */
  static String problem(String step, Map given, List<String> required, Map<String, String> defaults) {
    List<String> known = new ArrayList<String>(required)
    known.addAll(defaults.keySet())
    for (Object key : given.keySet()) {
      if (!known.contains(key.toString())) {
        return step + ': unknown setting \'' + key + '\'; the settings are ' + known.sort().join(', ')
      }
      Object value = given.get(key)
      if (!(value instanceof CharSequence)) {
        return step + ': setting \'' + key + '\' must be a string (got ' + value?.getClass()?.simpleName + ')'
      }
    }
    for (String key : required) {
      Object value = given.get(key)
      if (value == null || value.toString().trim().isEmpty()) {
        return step + ': setting \'' + key + '\' is missing or empty; pass it in the map, e.g. ' +
          step + '(' + key + ': \'...\', ...)'
      }
    }
    return null
  }

  /** The defaults overlaid with `given`, every value a plain String. */
  static Map<String, String> merge(Map given, Map<String, String> defaults) {
    Map<String, String> out = new LinkedHashMap<String, String>(defaults)
    for (Object key : given.keySet()) {
      out.put(key.toString(), given.get(key).toString())
    }
    return out
  }
}
