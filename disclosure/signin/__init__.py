"""Sign-in, second factors, password reset and account security pages,
shared by the staff UI, the vendor portal and the admin (issue 20).

Staff, portal and api never import each other (DESIGN.md, Layout); this
small interface module holds what the two browser UIs share. Each view
takes the interface it serves (``staff``, ``portal`` or ``admin``) and
reverses its URLs in that interface's namespace.
"""
