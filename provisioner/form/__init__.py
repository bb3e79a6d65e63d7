"""`provisioner form`: the admin app's "Nuevo cliente" dialog as a local web page whose
"Guardar" opens a pull request adding tenants/<subdomain>.yaml (docs/form.md)."""
