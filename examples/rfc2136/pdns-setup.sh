# The zone, if PowerDNS does not serve it yet.
pdnsutil create-zone example.org ns1.example.org
# A key for the host, and the key file dnsward reads (a BIND key clause).
pdnsutil generate-tsig-key host-key hmac-sha256
pdnsutil list-tsig-keys | awk '$1 == "host-key." { print "key \"host-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"" $3 "\";\n};" }' > host-key.key
chmod 600 host-key.key
# Only this key may update the zone (also if the policy script is removed);
# each update that changes something moves the serial by one.
pdnsutil set-meta example.org TSIG-ALLOW-DNSUPDATE host-key
pdnsutil set-meta example.org SOA-EDIT-DNSUPDATE INCREASE
