/**
 * The rabbit of "it went through RabbitMQ", drawn inline: the 🐇 emoji is a blank box on a machine
 * without an emoji font (many Linux desktops and containers), and an inline SVG needs no font, no
 * request and nothing the page's Content-Security-Policy would have to allow.
 */
export function RabbitIcon({ className = 'rabbit-icon' }: { className?: string }) {
  return (
    <svg className={className} viewBox="0 0 24 24" width="1em" height="1em" aria-hidden="true" focusable="false" data-icon="rabbit">
      <g fill="currentColor">
        <ellipse cx="8.6" cy="5.6" rx="1.5" ry="4.4" transform="rotate(-14 8.6 5.6)" />
        <ellipse cx="12.4" cy="5.2" rx="1.5" ry="4.4" transform="rotate(12 12.4 5.2)" />
        <circle cx="10.6" cy="11.4" r="3.7" />
        <ellipse cx="14.6" cy="16.6" rx="6.2" ry="4.6" />
        <circle cx="20.6" cy="14.8" r="1.7" />
      </g>
    </svg>
  );
}
