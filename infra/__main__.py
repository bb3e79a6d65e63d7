"""What `pulumi up` runs (Pulumi.yaml `main: infra/`): the tenant named like this stack.

pulumi-language-python-exec (pulumi/pulumi, sdk/python/cmd/pulumi-language-python-exec) runs the
program with `runpy.run_path(args.PROGRAM, run_name='__main__')` after `os.chdir(args.pwd)`, where
the engine made infra/ the pwd and "." the program (pkg/engine getPwdMain, for a directory
`main`); runpy puts that directory first on sys.path and executes its __main__.py as a script,
outside any package. So this file imports the program by its installed name, the package
`provisioner.infra`, and infra/ holds nothing else: it is itself on sys.path while the program
runs, where a module named like a standard-library one would shadow it.
"""

from provisioner.infra.head_start import run_program

run_program()  # the tenants directory's stats start on another core, then the program
