"""What `pulumi up` runs in platform/ (Pulumi.yaml without `main`: this directory): the
reseller's platform for the environment named like the stack.

Like infra/__main__.py, it imports the program by its installed name, the package
`provisioner.platform_stack`, and this directory holds nothing else (it is first on sys.path
while the program runs).
"""

from provisioner.platform_stack.program import main

main()
