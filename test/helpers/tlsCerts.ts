// A CA, a server certificate for 127.0.0.1 and client certificates, made with openssl for a
// test's TLS listener; and a second CA with its own client, to be refused.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCa: string;
  otherCert: string;
  otherKey: string;
}

export function makeCerts(dir: string): TestCerts {
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) => ossl(['req', '-x509', ...key, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
  const leaf = (name: string, signer: string, ext: string) => {
    ossl(['req', ...key, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(`${dir}/${name}.ext`, ext);
    ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}-key.pem`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string) => `${dir}/${f}`;
  return {
    ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server-key.pem'), clientCert: p('client.pem'), clientKey: p('client-key.pem'),
    otherCa: p('other-ca.pem'), otherCert: p('other-client.pem'), otherKey: p('other-client-key.pem'),
  };
}
