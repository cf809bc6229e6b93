/*
 * gone-lib - a library the bad-needs-lib fixture links against. Its soname
 * names a file that never exists, so at run time the dynamic linker cannot
 * find it: the situation of a plugin whose dependency is not installed.
 */
int fixture_gone_function(int value);
int fixture_gone_function(int value)
{
    return value + 1;
}
